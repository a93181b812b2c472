"""Synthetic support-chat text: sentences drawn from a few hundred common words with
Zipf weights, so that full-text search meets both very common and rare words."""

from itertools import accumulate

# Words of support chats, most frequent first: a word's weight is 1 / rank (Zipf).
VOCABULARY = """
the to i you and a is it my for on of in this not we can with have your that be
order account please thanks help issue problem payment but do was are will me an at
as just so if get when from our there now no email app website page error again
login password update time support day all new card still how what team check
working refund shipping delivery subscription price plan invoice product item
received sent back know sure could would should need like see one any here let
today yesterday week hours minutes contact reply message number code link phone
store customer service address change cancel upgrade download install version
browser mobile android iphone screen button settings profile data file report
access trial free premium charge charged twice bank transfer paypal receipt tax
discount coupon price quote business company manager agent chat ticket request
status pending confirmed failed sorry apologies understand sure right great good
bad wrong slow fast broken missing wait waiting long still after before while
been has had were did does done make made take took give gave try tried use used
want wanted think thought look looking find found open opened close closed work
worked show showing said tell told call called leave left keep kept start started
first last next other same different another every each some more most much many
few little small big large full empty available unavailable possible impossible
morning evening night monday friday weekend month year soon later already never
always usually sometimes maybe really very quite too also only even yet though
package box tracking courier warehouse return exchange size color colour stock
""".split()
# Common content words (high rank) and rare ones (about 1% of messages hold one of
# them): the two rows of search-conversations.
COMMON_WORDS = ["order", "account", "payment", "refund", "login", "invoice", "delivery"]
RARE_WORDS = ["firmware", "chargeback", "gdpr", "sandbox", "webhook", "vat", "voucher",
              "escalation", "sepa", "backorder", "warranty", "dongle", "ssl", "dns", "api",
              "reimbursement", "customs", "passport", "affidavit", "notarized"]
GREETINGS = ["Hi,", "Hello,", "Hi there,", "Good morning,", "Thanks!", "Thank you."]
CUMULATIVE = list(accumulate(1 / rank for rank in range(1, len(VOCABULARY) + 1)))


def sentence(rng, low=4, high=12):
    chosen = rng.choices(VOCABULARY, cum_weights=CUMULATIVE, k=rng.randint(low, high))
    return " ".join(chosen).capitalize() + rng.choice("...?!")


def message_text(rng):
    """One to three sentences, sometimes a greeting, sometimes a rare word."""
    parts = [sentence(rng) for _ in range(rng.choice((1, 1, 2, 2, 3)))]
    if rng.random() < 0.2:
        parts.insert(0, rng.choice(GREETINGS))
    if rng.random() < 0.01:
        parts.append(f"It is about the {rng.choice(RARE_WORDS)}.")
    return " ".join(parts)
