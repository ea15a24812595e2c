"""The partners the audit is there to find: who pushes back offers and how often, who sold what
nobody serves, and whose customers call more so that one month shows the pattern."""
from partnernet.demo.network_facts import Network
from partnernet.demo.plan import LISHUI_FRANCHISEE

# The partners the audit is there to find, each with the share of its offers it declines or lets
# expire (it also returns some of what it accepts). All active, all in provinces whose branch takes
# what they push back; the Lishui franchisee is the one to put on probation in the walk-through.
PUSH_BACK_PARTNERS = {
    LISHUI_FRANCHISEE: 0.5,          # franchisee, 丽水 (Zhejiang), the only one there on-site (L3)
    "清远捷科网络科技有限公司": 0.45,  # franchisee, 清远 (Guangdong)
    "临沂锐达科技有限公司": 0.5,      # agent, two counties of 临沂 (Shandong)
    "衡水星辰科技有限公司": 0.55,     # franchisee, 衡水 and 承德 (Hebei)
}
PUSH_BACK_DECLINES = 0.6  # of a push-back, the share declined; the rest let expire
PUSH_BACK_RETURNS = 0.08  # of what a push-back partner accepts, the share it returns to HQ
# Everyone else answers nearly every offer: a decline or a missed deadline now and then.
USUAL_PUSH_BACK, USUAL_RETURNS = 0.035, 0.004
# A partner that sold what it cannot serve: large on-site contracts across Tibet, while it covers
# phone support in Lhasa only and Tibet has no branch, so its customers' tickets end at HQ.
SOLD_NOT_SERVED_PARTNER = "拉萨捷科软件有限公司"
# The push-back partners' territories and the sold-not-served partner's customers are busy: their
# customers call this many times as often, so that one month holds enough tickets for the audit to
# tell a pattern from noise.
BUSY = 5


def busy_customers(network: Network) -> set:
    """The customers in the push-back partners' territories, and the sold-not-served partner's."""
    by_name = {party.name: party.id for party in network.parties.values()}
    territories = {c.region_code for coverages in network.coverage.values() for c in coverages
                   if c.effective_to is None and network.parties[c.party_id].name in PUSH_BACK_PARTNERS}
    return {customer_id for customer_id, region_code, seller in network.customers
            if seller == by_name.get(SOLD_NOT_SERVED_PARTNER)
            or any(code in territories for code, _level in network.chain(region_code))}


class Answers:
    """How partners answer offers: each pushes back its share of them, spread evenly over time
    (a running quota from a random start), so that any month shows the partner's usual rate."""

    def __init__(self, rng, network: Network):
        self.rng, self.network = rng, network
        self.quota = {}

    def push_back(self, party_id: int) -> str | None:
        """None to accept; else "declined" or "offer_expired"."""
        name = self.network.parties[party_id].name
        share = PUSH_BACK_PARTNERS.get(name, USUAL_PUSH_BACK)
        quota = self.quota.get(party_id)
        if quota is None:
            quota = self.rng.random()
        quota += share
        self.quota[party_id] = quota % 1
        if quota < 1:
            return None
        declines = PUSH_BACK_DECLINES if name in PUSH_BACK_PARTNERS else 0.5
        return "declined" if self.rng.random() < declines else "offer_expired"

    def returns(self, party_id: int) -> bool:
        name = self.network.parties[party_id].name
        return self.rng.random() < (PUSH_BACK_RETURNS if name in PUSH_BACK_PARTNERS else USUAL_RETURNS)
