"""One ticket's life, as the product would record it: opened as intake opens it, routed by
routing.decide, offered, declined or let expire, accepted or queued to HQ, worked, resolved, closed."""
from datetime import datetime, time, timedelta
from decimal import Decimal

from partnernet import routing, sla
from partnernet.demo.network_facts import Network, certified_engineers_on
from partnernet.demo.plan import china_time
from partnernet.demo.push_back import PUSH_BACK_PARTNERS, Answers
from partnernet.settings.calendar import policy_of
from partnernet.settings.models import SlaPolicy
from partnernet.tickets.service import entitlement
from partnernet.timeclock import CHINA

HISTORY_NOTE = "演示数据：历史工单"  # on each history ticket's "created" event; its presence means seeded
RESOLUTION_MET = {"partner": 0.9, "push_back": 0.75, "hq": 0.93}
# What customers call about: the core platform most; integration, specialist work done with HQ, seldom.
CALLS_PER_LINE = {"oa-core": 6, "workflow": 4, "mobile": 3, "integration": 0.5}
SUBJECTS = {
    "oa-core": ["登录后首页空白", "公文流转卡在签收环节", "组织架构同步失败", "用户无法重置密码", "考勤数据未导入",
                "会议室预约冲突", "通知公告无法发布", "系统响应缓慢", "附件上传失败", "权限配置后仍不可见"],
    "workflow": ["审批节点无法提交", "表单字段计算错误", "流程退回后丢失意见", "报销流程无法发起", "会签节点超时未流转",
                 "表单打印格式错乱", "流程归档失败", "新建流程模板保存报错"],
    "mobile": ["移动端无法登录", "手机消息推送不到", "移动审批页面显示不全", "移动端签到定位不准", "企业微信集成后无法打开"],
    "integration": ["单点登录对接失败", "与财务系统数据不同步", "接口调用返回超时", "二次开发模块升级后报错",
                    "人事系统对接字段映射错误"],
}
RESOLUTION_NOTES = ["已远程处理，客户确认恢复正常", "调整配置后问题解决", "升级补丁后恢复", "已现场排查并修复",
                    "清理缓存后恢复", "修正权限设置，客户验证通过", "指导客户完成操作"]
DECLINE_NOTES = {
    "no_capacity": "工程师都在现场，暂时无法接单", "no_engineer_available": "本周工程师休假",
    "outside_expertise": "该问题不在我们的服务范围", "customer_unreachable": "客户电话无人接听",
    "not_our_region": "客户不在我们的服务区域", "other": "请总部安排",
}
RETURN_NOTES = {"beyond_our_skills": "问题超出我方能力，需总部支持", "needs_hq_development": "需要总部研发介入",
                "capacity": "人手不足，无法继续处理", "other": "转回总部处理"}


class Loads:
    """How many tickets each party holds at a moment: accepted and not yet resolved or returned."""
    def __init__(self):
        self.held = {}  # party id -> [(accepted at, released at)]

    def hold(self, party_id: int, start: datetime, end: datetime | None) -> None:
        self.held.setdefault(party_id, []).append((start, end))

    def at(self, party_id: int, moment: datetime) -> int:
        held = [(s, e) for s, e in self.held.get(party_id, ()) if e is None or e > moment]
        self.held[party_id] = held
        return sum(1 for s, _e in held if s <= moment)


class TicketLife:
    """One ticket from intake to its last event before the cut-off: the events, and after each event
    that changes the ticket, the ticket's columns as the product's services would leave them."""

    def __init__(self, row: dict, policy: SlaPolicy):
        self.row = row  # the ticket's columns, changed as the events happen
        self.policy = policy  # the contract's SLA policy
        self.events = []  # (event row, the ticket's columns after it, or None when it changes none)
        self.declined, self.expired = set(), set()

    def add(self, kind: str, at: datetime, changes: dict | None = None, **event) -> None:
        if changes is not None:
            self.row.update(changes, updated_at=at)
        event = dict(dict(party_id=None, from_status=None, to_status=None, reason_code=None, note=None, data=None),
                     kind=kind, at=at, actor_user_id=None, **event)
        self.events.append((event, dict(self.row) if changes is not None else None))

    def until(self, cutoff: datetime) -> tuple[dict, list]:
        """The ticket as it stood at `cutoff`, and its events until then, in order."""
        kept = sorted((e for e in self.events if e[0]["at"] < cutoff), key=lambda e: e[0]["at"])
        row = next(snapshot for _event, snapshot in reversed(kept) if snapshot is not None)
        return row, [event for event, _snapshot in kept]


def open_ticket(rng, network: Network, calendar, customer: tuple, running: list, created: datetime) -> TicketLife:
    """The ticket as intake opens it: contract, line, tier, billing, due times, the created event."""
    customer_id, region_code, _seller = customer
    day = created.astimezone(CHINA).date()
    chosen = rng.choices([c for c, _w in running], [w for _c, w in running])[0]
    line = rng.choices(chosen.line_codes, [CALLS_PER_LINE[code] for code in chosen.line_codes])[0]
    line_id = network.line_ids[line]
    # As intake picks it: the latest started contract for the line.
    contract = max((c for c, _w in running if line in c.line_codes), key=lambda c: (c.starts_on, c.id))
    channel = rng.choices(("phone", "email", "im", "web", "api"), (40, 15, 20, 20, 5))[0]
    tier = "L1" if channel in ("phone", "im") and rng.random() < 0.4 else history_tier(contract, network.settings)
    billable, billable_reason = entitlement(contract, tier, day, network.settings)
    complexity = "simple" if rng.random() < 0.6 else "complex"
    policy = network.policies[contract.sla_policy_id]
    resolution = policy.resolution_complex_minutes if complexity == "complex" else policy.resolution_simple_minutes
    life = TicketLife(dict(
        customer_id=customer_id, contract_id=contract.id, region_code=region_code, product_line_id=line_id,
        complexity=complexity, channel=channel, tier=tier, billable=billable, billable_reason=billable_reason,
        subject=rng.choice(SUBJECTS[line]), description="", status="new", owner_party_id=None,
        offered_party_id=None, offer_deadline=None, hq_queue_cause=None, engineer_id=None, route=None,
        response_due_at=business_due(calendar, policy, created, policy.response_minutes),
        resolution_due_at=business_due(calendar, policy, created, resolution),
        responded_at=None, resolved_at=None, closed_at=None, paused_at=None, created_by_id=None,
        created_at=created, updated_at=created), policy)
    life.add("created", created, {}, to_status="new", note=HISTORY_NOTE,
             data={"tier": tier, "billable": billable, "billable_reason": billable_reason})
    return life


def history_tier(contract, settings: dict) -> str:
    """The tier the history's tickets were opened at, before service started at L1 or L2 and
    reached on-site (L3) only by escalation: the highest the contract included. Kept so that the
    months of history (and the audit's walk-through on them) stay as they were."""
    return "L3" if contract.value >= Decimal(str(settings["onsite_threshold_cny"])) else "L2"


def business_due(calendar, row: SlaPolicy, start: datetime, minutes: int) -> datetime:
    return sla.add_business_minutes(start, minutes, policy_of(row), calendar.is_working)


def route_ticket(network: Network, loads: Loads, life: TicketLife, moment: datetime):
    """routing.decide on the network as it stood at `moment`, as service.route would call it."""
    row = life.row
    day = moment.astimezone(CHINA).date()
    chain = network.chain(row["region_code"])
    levels = dict(chain)
    found = []
    for code, _level in chain:
        for coverage in network.coverage.get(code, ()):
            if not coverage.serves(row["product_line_id"], day):
                continue
            party = network.parties[coverage.party_id]
            found.append(routing.Candidate(
                party_id=party.id, name=party.name, kind=party.kind, status=party.status_at(moment),
                level=levels[code], region_code=code, tiers=coverage.tiers & party.tiers,
                certified=bool(certified_engineers_on(network, party.id, row["product_line_id"], day)),
                open_tickets=loads.at(party.id, moment), capacity=party.capacity))
    facts = routing.TicketFacts(product_line=network.line_codes[row["product_line_id"]], tier=row["tier"],
                                region_chain=tuple(code for code, _level in chain),
                                declined_by=frozenset(life.declined), expired_by=frozenset(life.expired))
    return routing.decide(facts, found, network.settings["kind_priority"], moment)


def live(rng, network: Network, calendar, loads: Loads, answers: Answers, life: TicketLife, cutoff: datetime) -> None:
    """Route the ticket, answer its offers, work it, and close it, as the product records each step."""
    row = life.row
    created = row["created_at"]
    deadline_minutes = int(network.settings["offer_deadline_minutes"])
    moment, status = created, "new"
    owner = None
    while True:  # offers until one is accepted, or the HQ queue
        decision = route_ticket(network, loads, life, moment)
        route = decision.as_dict()
        party_id = decision.offered_party_id
        if party_id is None:
            life.add("queued_to_hq", moment, dict(status="hq_queue", hq_queue_cause=decision.cause, route=route),
                     from_status=status, to_status="hq_queue", reason_code=decision.cause, data={"route": route})
            break
        deadline = business_due(calendar, life.policy, moment, deadline_minutes)  # as the product's offers
        life.add("offered", moment, dict(status="offered", offered_party_id=party_id, offer_deadline=deadline,
                                         hq_queue_cause=None, route=route),
                 party_id=party_id, from_status=status, to_status="offered",
                 data={"deadline": deadline.isoformat(), "route": route})
        answer = answers.push_back(party_id)
        closed = dict(status="new", offered_party_id=None, offer_deadline=None)
        if answer == "declined":
            moment += timedelta(minutes=rng.randint(2, 12), seconds=rng.randrange(60))
            reason = rng.choice(tuple(DECLINE_NOTES))
            life.add("declined", moment, closed, party_id=party_id, from_status="offered", to_status="new",
                     reason_code=reason, note=DECLINE_NOTES[reason])
            life.declined.add(party_id)
        elif answer == "offer_expired":
            moment = deadline + timedelta(seconds=rng.randrange(60))  # the expiry job runs every minute
            life.add("offer_expired", moment, closed, party_id=party_id, from_status="offered", to_status="new")
            life.expired.add(party_id)
        else:
            moment += timedelta(minutes=rng.randint(1, 13), seconds=rng.randrange(60))
            day = moment.astimezone(CHINA).date()
            engineer = rng.choice(certified_engineers_on(network, party_id, row["product_line_id"], day))
            life.add("accepted", moment, dict(status="accepted", owner_party_id=party_id, engineer_id=engineer,
                                              offered_party_id=None, offer_deadline=None,
                                              responded_at=row["responded_at"] or moment),
                     party_id=party_id, from_status="offered", to_status="accepted", data={"engineer_id": engineer})
            record_response(rng, life, moment)
            owner = party_id
            break
        status = "new"

    if owner is None:  # at HQ: an HQ agent takes it from the queue
        moment = hq_takes_it(rng, calendar, moment)
        take_at_hq(rng, network, life, moment)
        owner = network.hq_id
    elif answers.returns(owner):  # accepted, started, then handed back to HQ
        accepted = moment
        started = moment + timedelta(minutes=rng.randint(3, 30))
        life.add("status_changed", started, dict(status="in_progress"), party_id=owner, from_status="accepted",
                 to_status="in_progress")
        moment = started + timedelta(minutes=rng.randint(20, 120))
        reason = rng.choice(tuple(RETURN_NOTES))
        loads.hold(owner, accepted, moment)
        life.add("returned_to_hq", moment, None, party_id=owner, from_status="in_progress", to_status="hq_queue",
                 reason_code=reason, note=RETURN_NOTES[reason])
        life.add("queued_to_hq", moment, dict(status="hq_queue", hq_queue_cause="returned_by_partner",
                                              owner_party_id=None, engineer_id=None),
                 from_status="in_progress", to_status="hq_queue", reason_code="returned_by_partner")
        moment = hq_takes_it(rng, calendar, moment)
        take_at_hq(rng, network, life, moment)
        owner = network.hq_id
    resolved = work(rng, network, calendar, life, owner, moment)
    if owner != network.hq_id:
        loads.hold(owner, moment, resolved if resolved < cutoff else None)


def record_response(rng, life: TicketLife, moment: datetime) -> None:
    """response_met when answered in time; else the breach job recorded it when the target ran out."""
    due = life.row["response_due_at"]
    if moment <= due:
        life.add("response_met", moment, data={"due": due.isoformat(), "at": moment.isoformat()})
    else:
        life.add("response_breached", min(due + timedelta(seconds=rng.randrange(60)), moment),
                 data={"due": due.isoformat()})


def hq_takes_it(rng, calendar, queued: datetime) -> datetime:
    """When an HQ agent takes a queued ticket: within the hour, or if that is past 17:00 the next
    working morning (so the last day's late ones are still in the queue when the history ends)."""
    moment = queued + timedelta(minutes=rng.randint(3, 60), seconds=rng.randrange(60))
    if moment.astimezone(CHINA).time() <= time(17, 0):
        return moment
    day = moment.astimezone(CHINA).date() + timedelta(days=1)
    while not calendar.is_working(day):
        day += timedelta(days=1)
    return china_time(day, 9) + timedelta(minutes=rng.randint(0, 40), seconds=rng.randrange(60))


def take_at_hq(rng, network: Network, life: TicketLife, moment: datetime) -> None:
    row = life.row
    engineers = certified_engineers_on(network, network.hq_id, row["product_line_id"], moment.astimezone(CHINA).date())
    first_response = row["responded_at"] is None
    life.add("taken_by_hq", moment, dict(status="accepted", owner_party_id=network.hq_id,
                                         engineer_id=rng.choice(engineers) if engineers else None,
                                         responded_at=row["responded_at"] or moment),
             party_id=network.hq_id, from_status="hq_queue", to_status="accepted", reason_code=row["hq_queue_cause"])
    if first_response:
        record_response(rng, life, moment)


def work(rng, network: Network, calendar, life: TicketLife, owner: int, accepted: datetime) -> datetime:
    """in_progress, resolved within or past the resolution target, then closed; returns when resolved."""
    row = life.row
    policy = life.policy
    started = accepted + timedelta(minutes=rng.randint(2, 30), seconds=rng.randrange(60))
    if row["status"] == "accepted":
        life.add("status_changed", started, dict(status="in_progress"), party_id=owner, from_status="accepted",
                 to_status="in_progress")
    target = policy.resolution_complex_minutes if row["complexity"] == "complex" else policy.resolution_simple_minutes
    kind = ("hq" if owner == network.hq_id
            else "push_back" if network.parties[owner].name in PUSH_BACK_PARTNERS else "partner")
    share = rng.uniform(0.3, 0.95) if rng.random() < RESOLUTION_MET[kind] else rng.uniform(1.1, 2.5)
    resolved = max(business_due(calendar, policy, row["created_at"], max(1, round(target * share))),
                   started + timedelta(minutes=rng.randint(5, 20)))
    due = row["resolution_due_at"]
    if resolved > due:  # the breach job found it unresolved at the due time
        life.add("resolution_breached", min(due + timedelta(seconds=rng.randrange(60)), resolved),
                 data={"due": due.isoformat()})
    life.add("status_changed", resolved, dict(status="resolved", resolved_at=resolved), party_id=owner,
             from_status="in_progress", to_status="resolved", note=rng.choice(RESOLUTION_NOTES))
    if resolved <= due:
        life.add("resolution_met", resolved, data={"due": due.isoformat(), "at": resolved.isoformat()})
    closed = business_due(calendar, policy, resolved, rng.randint(60, 1200))
    life.add("status_changed", closed, dict(status="closed", closed_at=closed), party_id=owner,
             from_status="resolved", to_status="closed", note="客户确认关闭")
    return resolved
