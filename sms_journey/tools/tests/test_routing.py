"""Tests for sms_journey.tools.routing: the sender of an SMS by destination, the gateway
of a routed country, the sender a reply was written to."""

from hypothesis import given
from hypothesis import strategies as st

from sms_journey.tools.routing import (
    SenderOption,
    choose_sender,
    route_gateway,
    sender_of_recipient,
)

COUNTRIES = ("IT", "RO", "US", "FR", "ES")

options_st = st.lists(
    st.builds(
        SenderOption,
        id=st.integers(1, 10_000),
        countries=st.frozensets(st.sampled_from(COUNTRIES), max_size=3),
        sequence=st.integers(0, 20),
    ),
    max_size=6,
    unique_by=lambda option: option.id,
)
country_st = st.sampled_from((*COUNTRIES, None))


def test_the_country_sender_wins_over_the_sender_of_every_country():
    anywhere = SenderOption(1, frozenset(), sequence=0)
    italy = SenderOption(2, frozenset({"IT"}), sequence=50)
    assert choose_sender("IT", [anywhere, italy]) == 2
    assert choose_sender("RO", [anywhere, italy]) == 1
    assert choose_sender(None, [anywhere, italy]) == 1


def test_fewer_countries_is_more_specific_then_sequence():
    europe = SenderOption(1, frozenset({"IT", "RO", "ES"}), sequence=1)
    italy = SenderOption(2, frozenset({"IT"}), sequence=9)
    italy_first = SenderOption(3, frozenset({"IT"}), sequence=5)
    assert choose_sender("IT", [europe, italy]) == 2
    assert choose_sender("IT", [europe, italy, italy_first]) == 3
    assert choose_sender("ES", [europe, italy, italy_first]) == 1


def test_no_sender_serves_it_falls_back_to_the_default():
    assert choose_sender("FR", [SenderOption(1, frozenset({"IT"}))]) is None
    assert choose_sender("IT", []) is None
    assert choose_sender(None, [SenderOption(1, frozenset({"IT"}))]) is None


@given(country_st, options_st)
def test_the_choice_serves_the_country_and_nothing_serving_it_is_more_specific(country, options):
    chosen = choose_sender(country, options)
    serving = [o for o in options if not o.countries or (country and country in o.countries)]
    if not serving:
        assert chosen is None
        return
    best = next(o for o in options if o.id == chosen)
    assert best in serving
    for other in serving:
        if bool(other.countries) != bool(best.countries):
            # a sender naming the country always wins over one serving every country
            assert best.countries
        elif len(other.countries) != len(best.countries):
            assert len(best.countries) < len(other.countries)
        else:
            assert (best.sequence, best.id) <= (other.sequence, other.id)


@given(country_st, options_st)
def test_the_choice_does_not_depend_on_the_order(country, options):
    assert choose_sender(country, options) == choose_sender(country, list(reversed(options)))


@given(country_st, st.dictionaries(st.sampled_from(COUNTRIES), st.integers(1, 9)),
       st.one_of(st.none(), st.integers(10, 20)))  # fmt: skip
def test_a_routed_country_takes_its_gateway_others_the_default(country, routes, default):
    chosen = route_gateway(country, routes, default)
    assert chosen == (routes[country] if country in routes else default)


def test_sender_of_recipient():
    options = [
        SenderOption(1, frozenset(), value="+39 02 1234 5678"),
        SenderOption(2, frozenset(), value="AcmeShop"),
    ]
    assert sender_of_recipient("+390212345678", options, "+15005550006") == 1
    assert sender_of_recipient("390212345678", options) == 1  # Vonage drops the +
    assert sender_of_recipient("acmeshop", options) == 2
    assert sender_of_recipient("+1 500 555 0006", options, "+15005550006") is False
    assert sender_of_recipient("+15551112222", options, "+15005550006") is None
    assert sender_of_recipient("", options, "+15005550006") is None
