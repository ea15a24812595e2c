"""The engineers of HQ and of every partner, and their certificates: valid, expiring, expired,
pending, rejected and revoked, with every covered product line but the planned gaps served."""
from datetime import date, timedelta

from partnernet.demo.people import person, phone
from partnernet.demo.plan import HQ, LINES, XIHU_AGENT, PartnerPlan, china_time, history_period, weighted_sample

ENGINEERS_PER_PARTNER = {"branch": (5, 8), "joint_venture": (4, 7), "franchisee": (3, 6), "agent": (2, 4)}
HQ_ENGINEERS = 15
LINE_ABBREVIATIONS = {"oa-core": "OA", "workflow": "WF", "mobile": "MB", "integration": "IN"}
CERTIFICATE_DAYS = 730  # a certificate is valid for two years
REVIEW_NOTES = {
    "rejected": ["证书编号无法在认证系统中核验", "扫描件不清晰，请重新上传", "证书持有人姓名与工程师档案不一致"],
    "revoked": ["复核发现考试成绩作废", "证书系冒用他人信息取得"],
}


def plan_engineers(rng, partners: list[PartnerPlan], today: date) -> tuple[list, list]:
    engineers, certifications = [], []
    serial = iter(range(1, 1_000_000))
    teams = [(HQ, "hq", "hq", LINES, None, 3000)]
    teams += [(p.name, p.slug, p.kind, p.lines, p.gap_line, p.offset) for p in partners]
    for party, slug, kind, lines, gap_line, offset in teams:
        if party == XIHU_AGENT:
            size = 4
        else:
            size = HQ_ENGINEERS if kind == "hq" else rng.randint(*ENGINEERS_PER_PARTNER[kind])
        team, held = [], []
        for index in range(size):
            name, name_py = person(rng)
            email, n = f"{name_py}@{slug}.demo", 2
            while any(e["email"] == email for e in team):
                email, n = f"{name_py}{n}@{slug}.demo", n + 1
            joined = today - timedelta(days=rng.randint(1, max(1, offset - 1)))
            active = rng.random() < 0.96
            demo_engineer = party == XIHU_AGENT and index == 0  # the demo engineer user's record
            team.append(dict(party=party, name=name, phone=phone(rng), email=email,
                             active=active or demo_engineer, created_at=china_time(joined, 9, 30)))
            if demo_engineer:
                kinds = [("oa-core", "professional", "valid"), ("workflow", "associate", "expiring"),
                         ("mobile", "associate", "pending")]
            elif rng.random() < 0.1:
                kinds = []  # new hires, not certified yet
            else:
                weights = [4 if line in lines else 1 for line in LINES]
                count = rng.choices((1, 2, 3), (50, 35, 15))[0]
                kinds = [(line, rng.choices(("associate", "professional", "expert"), (50, 35, 15))[0],
                          certification_status(rng, line == gap_line))
                         for line in weighted_sample(rng, LINES, weights, count)]
            held += [plan_certification(rng, email, line, level, status, next(serial), today)
                     for line, level, status in kinds]
        # Every covered line but the deliberate gap has someone certified on it for a while yet:
        # an engineer without a certificate for the line gets one, else the first holder renews.
        for line in lines:
            if line == gap_line or any(c["line"] == line and c["category"] == "valid" for c in held):
                continue
            holders = [c["engineer"] for c in held if c["line"] == line]
            free = [e["email"] for e in team if e["email"] not in holders]
            certificate = plan_certification(
                rng, (free or holders)[0], line, "associate", "valid", next(serial), today)
            if free:
                held.append(certificate)
            else:
                held[next(i for i, c in enumerate(held) if c["line"] == line)] = certificate
        engineers += team
        certifications += held
    return engineers, certifications


def certification_status(rng, gap: bool) -> str:
    draw = rng.random()
    # Drawn a little below the targets for valid certificates (75% plus 5% expiring soon): the
    # top-up that keeps every covered line served adds valid ones.
    status = ("valid" if draw < 0.73 else "expiring" if draw < 0.78 else "expired" if draw < 0.865
              else "pending" if draw < 0.94 else "rejected" if draw < 0.975 else "revoked")
    if gap and status in ("valid", "expiring"):
        return "expired"
    return status


def plan_certification(rng, engineer_email, line, level, category, serial, today) -> dict:
    """One certificate; `category` is its status, with "expiring" a valid one running out soon."""
    if category == "valid":
        # Issued before the ticket history begins, so that whoever serves today served all along:
        # the drawn days to expiry are scaled into the range that allows it.
        days = rng.randint(31, CERTIFICATE_DAYS - 10)
        latest = CERTIFICATE_DAYS - 1 - (today - history_period(today)[0]).days
        expires_on = today + timedelta(days=31 + (days - 31) * (latest - 31) // (CERTIFICATE_DAYS - 10 - 31))
    elif category == "expiring":
        expires_on = today + timedelta(days=rng.randint(3, 28))
    elif category == "expired":
        expires_on = today - timedelta(days=rng.randint(1, 300))
    elif category == "pending":
        expires_on = today - timedelta(days=rng.randint(3, 25)) + timedelta(days=CERTIFICATE_DAYS)
    else:  # rejected, revoked
        expires_on = today - timedelta(days=rng.randint(30, 400)) + timedelta(days=CERTIFICATE_DAYS)
    issued_on = expires_on - timedelta(days=CERTIFICATE_DAYS)
    submitted_at = china_time(issued_on + timedelta(days=rng.randint(0, 2)), 14)
    reviewed_at, note = None, None
    if category != "pending":
        reviewed_at = submitted_at + timedelta(days=2, hours=rng.randint(0, 3))
    if category in REVIEW_NOTES:
        note = rng.choice(REVIEW_NOTES[category])
    if category == "revoked":
        reviewed_at = china_time(today - timedelta(days=rng.randint(5, 25)), 16)
    return dict(
        engineer=engineer_email, line=line, category=category, level=level,
        number=f"PN-{LINE_ABBREVIATIONS[line]}-{issued_on.year}-{serial:06d}",
        issued_on=issued_on, expires_on=expires_on,
        status="valid" if category == "expiring" else category,
        submitted_at=submitted_at, reviewed_at=reviewed_at, review_note=note,
    )
