"""The audit flags low satisfaction on the fair-bound principle of push-back: only when even the
95% Wilson upper bound of the satisfied share is below the threshold, on enough rated answers."""
from datetime import timedelta

import pytest

from partnernet.audit import service as audit
from partnernet.audit.measures import Measures, Params, flag_reasons
from partnernet.audit.wilson import wilson_lower_bound, wilson_upper_bound
from partnernet.extensions import db
from partnernet.feedback.models import CustomerFeedback
from partnernet.settings.service import save_settings
from tests import factories
from tests.test_audit import IN_WEEK, finding_of, run_week


def answers(party, ratings, at=IN_WEEK):
    ticket = factories.ticket(factories.customer())
    db.session.add_all(CustomerFeedback(ticket_id=ticket.id, party_id=party.id, source="customer", solved=True,
                                        rating=rating, answered_at=at + timedelta(minutes=n))
                       for n, rating in enumerate(ratings))
    db.session.commit()
    return ticket


@pytest.mark.parametrize("satisfied, answers_", [(8, 20), (10, 30), (0, 5), (5, 5), (270, 300)])
def test_the_upper_bound_mirrors_the_lower_bound_of_the_unsatisfied(satisfied, answers_):
    upper = wilson_upper_bound(satisfied, answers_)
    assert upper == pytest.approx(1 - wilson_lower_bound(answers_ - satisfied, answers_))
    assert satisfied / answers_ <= upper <= 1


def test_satisfaction_flags_need_enough_answers_and_an_upper_bound_below_the_threshold():
    params = Params(threshold=0.20, min_offers=10, sold_not_served_threshold=0.30,
                    satisfaction_threshold=0.60, satisfaction_min_answers=10)
    assert flag_reasons(Measures(1, satisfaction_answers=30, satisfied=10), params) == ["satisfaction"]  # at most 51%
    assert flag_reasons(Measures(1, satisfaction_answers=20, satisfied=8), params) == []   # could be 61%
    assert flag_reasons(Measures(1, satisfaction_answers=5, satisfied=0), params) == []    # too few answers


def test_the_audit_flags_a_partner_whose_satisfaction_is_surely_low_not_one_with_few_answers(app, client, login_as):
    unhappy, few, content = factories.partner(), factories.partner(), factories.partner()
    rated = answers(unhappy, [5] * 6 + [4] * 4 + [2] * 12 + [1] * 8)    # 10 of 30 satisfied
    answers(few, [1, 1, 2, 1, 1])                               # 0 of 5: below the minimum of answers
    answers(content, [5] * 25 + [3] * 5)
    run = run_week()

    found_unhappy, found_few, found_content = (finding_of(run, p) for p in (unhappy, few, content))
    assert (found_unhappy.satisfaction_answers, found_unhappy.satisfied) == (30, 10)
    assert found_unhappy.satisfaction_upper_bound == pytest.approx(0.512, abs=0.001)
    assert found_unhappy.flagged and found_unhappy.flag_reasons == ["satisfaction"]
    assert found_few.satisfaction_upper_bound < 0.6 and found_few.satisfaction_answers == 5
    assert not found_few.flagged
    assert not found_content.flagged
    assert (float(run.satisfaction_threshold), run.satisfaction_min_answers) == (0.6, 10)
    assert audit.tickets_behind(found_unhappy, "satisfaction_answers") == [rated.id]

    login_as(factories.user("hq_manager", locale="en"))
    page = client.get(f"/audits/{run.id}").get_data(as_text=True)
    assert "51.2%" in page and "Low satisfaction" in page
    finding_page = client.get(f"/findings/{found_unhappy.id}").get_data(as_text=True)
    assert "Of 30 rated answers, 10 rated the service 4 or 5." in finding_page
    assert f'href="/tickets/{rated.id}"' in finding_page   # the finding opens on the rated tickets
    exported = client.get(f"/audits/{run.id}.csv").get_data(as_text=True)
    header, *rows = exported.strip("\ufeff").splitlines()
    assert "Satisfied, upper bound (95%)" in header
    unhappy_row = next(row for row in rows if row.startswith(unhappy.name))
    assert ",30,10,0.5122,1,Low satisfaction," in unhappy_row


def test_the_satisfaction_threshold_is_a_setting(app):
    answers(factories.partner(), [5] * 6 + [4] * 4 + [2] * 12 + [1] * 8)
    save_settings({"audit_satisfaction_threshold": "0.50"}, factories.user("hq_admin").id, IN_WEEK)
    run = run_week()
    assert not any(f.flagged for f in run.findings)   # 51% is not below 50%
    assert float(run.satisfaction_threshold) == 0.5
