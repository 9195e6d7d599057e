"""Realistic Kenyan demo data: two teams of staff and customers across Nairobi's markets."""

import io
import random
import struct
import zlib
from datetime import date, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import select

from portal.models import (
    ContactOutcome,
    DisbursementChannel,
    Interaction,
    InteractionKind,
    KycLevel,
    KycStatus,
    Loan,
    LoanStatus,
    PaymentSource,
    PromiseStatus,
    Role,
    User,
)
from portal.models.base import db, utcnow
from portal.services import (
    arrears,
    business_day,
    customers,
    kyc,
    loans,
    mpesa,
    mpesa_inbox,
    products,
    promises,
    repayments,
    savings,
    users,
)

PASSWORD = "mkopo-demo-2026"

STAFF = [
    # username, first, last, role, manager username
    ("admin", "Grace", "Wanjiru", Role.ADMIN, None),
    ("manager.east", "Joseph", "Otieno", Role.MANAGER, None),
    ("manager.west", "Faith", "Chebet", Role.MANAGER, None),
    ("officer.kamau", "Peter", "Kamau", Role.LOAN_OFFICER, "manager.east"),
    ("officer.akinyi", "Mercy", "Akinyi", Role.LOAN_OFFICER, "manager.west"),
    ("officer.mutua", "Daniel", "Mutua", Role.LOAN_OFFICER, "manager.east"),
    ("collector.njeri", "Lucy", "Njeri", Role.COLLECTION_OFFICER, "manager.east"),
    ("collector.omondi", "Brian", "Omondi", Role.COLLECTION_OFFICER, "manager.east"),
    ("collector.wafula", "Esther", "Wafula", Role.COLLECTION_OFFICER, "manager.west"),
    ("collector.kiprop", "Kevin", "Kiprop", Role.COLLECTION_OFFICER, "manager.west"),
    ("caller.achieng", "Sharon", "Achieng", Role.CALLING_AGENT, "manager.east"),
    ("caller.maina", "Dennis", "Maina", Role.CALLING_AGENT, "manager.west"),
]

FIRST_NAMES = ["Wanjiku", "Akinyi", "Njeri", "Atieno", "Wambui", "Chebet", "Nafula", "Moraa", "Mumbua", "Zawadi",
               "Amina", "Halima", "Mary", "Jane", "Faith", "Esther", "Ruth", "Joyce", "Beatrice", "Lilian",
               "John", "James", "Peter", "Joseph", "David", "Samuel", "Kevin", "Brian", "Hassan", "Ochieng",
               "Kiprono", "Mwangi", "Otieno", "Kamau", "Wekesa", "Mutiso", "Omondi", "Barasa", "Juma", "Baraka"]
LAST_NAMES = ["Wanjiru", "Kamau", "Otieno", "Odhiambo", "Mwangi", "Njoroge", "Kiprotich", "Cheruiyot", "Wafula",
              "Mutua", "Kariuki", "Ochieng", "Achieng", "Mohamed", "Ali", "Kimani", "Nyambura", "Onyango",
              "Wairimu", "Macharia", "Chepkoech", "Kiplagat", "Muthoni", "Gitau", "Owino", "Auma", "Ndungu"]
LOCATIONS = [("Gikomba Market", "Nairobi"), ("Kawangware", "Nairobi"), ("Githurai 45", "Kiambu"),
             ("Kibera Olympic", "Nairobi"), ("Eastleigh 1st Ave", "Nairobi"), ("Toi Market", "Nairobi"),
             ("Kangemi", "Nairobi"), ("Dandora Phase 2", "Nairobi"), ("Ruiru Town", "Kiambu"),
             ("Kitengela", "Kajiado"), ("Rongai", "Kajiado"), ("Thika Road Mall stalls", "Nairobi"),
             ("Kariobangi North", "Nairobi"), ("Mathare 4A", "Nairobi"), ("Kayole Junction", "Nairobi")]
BUSINESSES = ["Mama Mboga stall", "Duka la rejareja", "Boda boda", "Mitumba clothes", "Salon & kinyozi",
              "M-Pesa agent", "Fish vendor", "Chapati kibanda", "Shoe repair", "Tailoring", "Fruit stand",
              "Charcoal seller", "Hardware kiosk", "Phone accessories", "Milk ATM"]
CITY_STATE = {"Nairobi": "Nairobi", "Kiambu": "Kiambu", "Kajiado": "Kajiado"}


def seed(customer_count: int = 200, rng: random.Random | None = None) -> list[tuple[str, str]]:
    """Create the staff and `customer_count` customers; return (username, role) of each login."""
    rng = rng or random.Random(2026)
    made = {}
    for username, first, last, role, manager in STAFF:
        made[username] = users.create(users.NewUser(
            username=username, password=PASSWORD, role=role, email=f"{username}@mkopo.example",
            first_name=first, last_name=last, manager_id=made[manager].id if manager else None),
            actor=None, by_system=True)
    officers = [made[u] for u, *_, role, _m in STAFF if role == Role.COLLECTION_OFFICER]
    creators = [made[u] for u, *_, role, _m in STAFF if role == Role.LOAN_OFFICER]
    now = utcnow()
    created = []
    for i in range(customer_count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        location, county = rng.choice(LOCATIONS)
        customer = customers.create({
            "name": f"{first} {last}",
            "phone": f"07{rng.choice('0129')}{rng.randrange(10**6, 10**7)}",
            "email": f"{first}.{last}{i}@example.co.ke".lower() if rng.random() < 0.6 else None,
            "national_id": str(rng.randrange(20_000_000, 39_999_999)),
            "business_name": rng.choice(BUSINESSES),
            "location": location, "city": county, "state": CITY_STATE[county],
            "date_of_birth": date(rng.randrange(1965, 2003), rng.randrange(1, 13), rng.randrange(1, 29)),
            "assigned_officer_id": rng.choice(officers).id if rng.random() < 0.9 else None,
        }, actor=rng.choice(creators))
        customer.created_at = now - timedelta(days=rng.randrange(0, 180), minutes=rng.randrange(0, 1440))
        customer.kyc_status, customer.kyc_level = rng.choices(
            [(KycStatus.VERIFIED, KycLevel.TIER_2), (KycStatus.VERIFIED, KycLevel.TIER_1),
             (KycStatus.PENDING, KycLevel.TIER_0), (KycStatus.UNVERIFIED, KycLevel.TIER_0)],
            weights=[45, 20, 15, 20])[0]
        created.append(customer)
    borrower = users.create(users.NewUser(username="borrower.demo", password=PASSWORD, role=Role.BORROWER,
                                          email="borrower.demo@example.co.ke", first_name="Wanjiku",
                                          last_name="Demo"), actor=None, by_system=True)
    customer = customers.create({"name": "Wanjiku Demo", "phone": "0722000111", "national_id": "30111222",
                                 "location": "Gikomba Market"}, actor=creators[0])
    customer.user_id = borrower.id
    customer.kyc_status, customer.kyc_level = KycStatus.VERIFIED, KycLevel.TIER_1
    db.session.flush()
    # The simulator's B2C results are taken in here at once (no server is listening yet to receive them).
    outbox: list[tuple[str, dict]] = []
    saved = current_app.extensions.get("mpesa_delivery")
    current_app.extensions["mpesa_delivery"] = lambda path, payload: outbox.append((path, payload))
    try:
        _seed_lending(rng, made, [customer, *created])
    finally:
        current_app.extensions["mpesa_delivery"] = saved
    for path, payload in outbox:
        if path == "/b2c/result":
            mpesa.b2c_result(payload)
    _seed_kyc(created)
    return [(u, role.value) for u, _f, _l, role, _m in STAFF] + [("borrower.demo", "borrower (API only)")]


PRODUCTS = [
    {"name": "Biashara Monthly", "interest_method": "declining", "annual_rate": "18", "frequency": "monthly",
     "term_periods": 6, "min_principal": "5000", "max_principal": "200000", "fee_type": "percent",
     "fee_value": "2", "fee_mode": "deducted", "penalty_rate": "5", "grace_days": 3},
    {"name": "Mama Mboga Weekly", "interest_method": "flat", "annual_rate": "24", "frequency": "weekly",
     "term_periods": 12, "min_principal": "1000", "max_principal": "30000", "fee_type": "fixed",
     "fee_value": "200", "fee_mode": "added", "penalty_rate": "2", "grace_days": 1},
    {"name": "Boda Boda Asset", "interest_method": "declining", "annual_rate": "20", "frequency": "monthly",
     "term_periods": 12, "min_principal": "50000", "max_principal": "250000", "fee_type": "fixed",
     "fee_value": "1500", "fee_mode": "deducted", "penalty_rate": "3", "grace_days": 5},
]
# (state, how many, days since disbursement, share of the due installments repaid)
LOAN_PLAN = [("pending", 12, 0, 0), ("approved", 5, 0, 0), ("rejected", 4, 0, 0), ("current", 18, 45, 1.0),
             ("late", 6, 50, 0.5), ("late", 5, 80, 0.4), ("late", 4, 120, 0.2), ("late", 3, 170, 0.0),
             ("closed", 4, 200, 2.0), ("written_off", 2, 200, 0.1)]


def _seed_lending(rng: random.Random, staff: dict, people: list) -> None:
    """Products and loans in every state, with repayment history and arrears, through the services."""
    admin = staff["admin"]
    made = [products.create(values, actor=admin) for values in PRODUCTS]
    today = business_day.today()
    slots = [(state, age, repaid) for state, count, age, repaid in LOAN_PLAN for _ in range(count)]
    borrowers = [c for c in people if c.kyc_status == KycStatus.VERIFIED]
    for (state, age, repaid), customer in zip(slots, borrowers, strict=False):  # fewer people, fewer loans
        product = made[1] if customer.kyc_level == KycLevel.TIER_1 else rng.choice(made[:2])
        creator = db.session.get(type(admin), customer.created_by_id)
        step = Decimal(500)
        span = int((min(product.max_principal, Decimal(40000)) - product.min_principal) / step)
        principal = product.min_principal + step * rng.randrange(0, span + 1)
        loan = loans.apply(customer, {"product_id": product.id, "principal": principal,
                                      "purpose": rng.choice(["stock", "equipment", "school fees", "rent"])},
                           actor=creator)
        if state == "pending":
            continue
        checker = creator.manager or admin
        if state == "rejected":
            loans.reject(loan, "Income could not be confirmed with the market chairperson.", actor=checker)
            continue
        loans.approve(loan, actor=checker)
        if state == "approved":
            continue
        channel = rng.choice([DisbursementChannel.MPESA, DisbursementChannel.SAVINGS])
        loans.disburse(loan, channel, actor=creator, on=today - timedelta(days=age))
        due = [i for i in loan.installments if i.due_date <= today]
        to_pay = sum((i.total_due for i in due), Decimal(0)) * Decimal(str(min(repaid, 1.0)))
        if repaid > 1:
            to_pay = loan.outstanding_balance
        if to_pay > 0:
            repayments.record_payment(loan, to_pay.quantize(Decimal("0.01")), actor=creator,
                                      source=PaymentSource.MPESA)
        if state == "written_off":
            loans.write_off(loan, "Borrower relocated; unreachable for 120 days.", actor=checker)
    for customer in people[:25]:
        savings.deposit(customer, Decimal(rng.randrange(5, 200) * 100), source="mpesa", actor=admin)
    # An M-Pesa payment nobody can be matched to, as the webhook takes it: it waits in suspense.
    mpesa_inbox.accept(receipt="SDEMO00001", amount=Decimal("1500.00"), phone="+254700000001",
                       reference="UNKNOWN-REF")
    mpesa_inbox.book_pending()
    arrears.accrue_penalties(today)
    _seed_collections(rng, staff, today)


COMMENTS = {
    "called": "Reminded of the installment; said business is slow this week.",
    "no_answer": "Rang twice, no answer.",
    "switched_off": "Phone off; try in the evening.",
    "promise_to_pay": "Will pay through M-Pesa after market day.",
    "visited": "Found at the stall; stock looks thin.",
    "callback_requested": "Asked us to call back after 5 pm.",
    "dispute": "Says the last payment was not counted; checking the receipt.",
}


def _seed_collections(rng: random.Random, staff: dict, today: date) -> None:
    """Give each active loan a calling agent of its officer's team and a few weeks of contact history,
    with promises kept, broken and falling due today, so each agent's queue has a real day in it."""
    callers = {c.manager_id: c for c in staff.values() if c.role == Role.CALLING_AGENT}
    fallback = next(iter(callers.values()))
    active = db.session.scalars(select(Loan).where(Loan.status == LoanStatus.DISBURSED).order_by(Loan.id)).all()
    now, late_seen = utcnow(), 0
    for loan in active:
        officer = loan.customer.assigned_officer
        loan.collector_id = callers.get(officer.manager_id if officer else None, fallback).id
        late = loan.days_past_due_on(today)
        for days_ago in sorted(rng.sample(range(2, 30), k=rng.randrange(0, 4) if late else rng.randrange(0, 2)),
                               reverse=True):
            code = rng.choice(list(COMMENTS))
            author = officer if code == "visited" and officer else db.session.get(User, loan.collector_id)
            interaction = Interaction(
                loan_id=loan.id, kind=InteractionKind.FIELD if author.role == Role.COLLECTION_OFFICER
                else InteractionKind.CALLING, created_by_id=author.id, disposition_code=code,
                comment=COMMENTS[code], contact_outcome=ContactOutcome.NO_CONTACT
                if code in ("no_answer", "switched_off") else ContactOutcome.RIGHT_PARTY,
                created_at=now - timedelta(days=days_ago, minutes=rng.randrange(0, 600)))
            if code == "promise_to_pay":
                interaction.promise_amount = Decimal(rng.randrange(5, 40) * 100)
                interaction.promise_date = today - timedelta(days=days_ago) + timedelta(days=rng.randrange(1, 5))
                interaction.promise_status = PromiseStatus.PENDING
            db.session.add(interaction)
        late_seen += bool(late)
        if late and late_seen % 3 == 0:  # every third late loan: a promise due today, or a call-back asked for today
            db.session.add(Interaction(
                loan_id=loan.id, kind=InteractionKind.CALLING, created_by_id=loan.collector_id,
                disposition_code="promise_to_pay" if late_seen % 6 == 0 else "callback_requested",
                comment="Promised to clear the arrears today." if late_seen % 6 == 0 else "Call back today.",
                contact_outcome=ContactOutcome.RIGHT_PARTY, created_at=now - timedelta(days=1),
                promise_amount=Decimal("1000.00") if late_seen % 6 == 0 else None,
                promise_date=today if late_seen % 6 == 0 else None,
                promise_status=PromiseStatus.PENDING if late_seen % 6 == 0 else None,
                next_call_date=None if late_seen % 6 == 0 else today))
    db.session.flush()
    promises.evaluate(today)


def _png(width: int, height: int, bands: list[tuple[int, bytes]]) -> bytes:
    """A small PNG of horizontal colour bands ((rows, RGB) each): enough to look like a scan on screen."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + rgb * width for count, rgb in bands for _ in range(count))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def _pdf(lines: list[str]) -> bytes:
    """A one-page PDF with a few lines of text, cross-reference table and all."""
    text = "BT /F1 14 Tf 40 150 Td 18 TL " + " ".join(f"({line}) '" for line in lines) + " ET"
    objects = ["<</Type/Catalog/Pages 2 0 R>>", "<</Type/Pages/Kids[3 0 R]/Count 1>>",
               "<</Type/Page/Parent 2 0 R/MediaBox[0 0 420 200]/Contents 4 0 R"
               "/Resources<</Font<</F1 5 0 R>>>>>>",
               f"<</Length {len(text)}>>stream\n{text}\nendstream", "<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>"]
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    return out + f"trailer<</Size {len(objects) + 1}/Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n".encode()


ID_CARD = _png(168, 106, [(18, b"\x0b\x5d\x4b"), (70, b"\xe9\xe4\xd8"), (18, b"\xb0\x2a\x2a")])
SELFIE = _png(96, 120, [(30, b"\xd9\xe8\xf2"), (60, b"\x8d\x5b\x3c"), (30, b"\x3a\x4a\x7a")])


def _seed_kyc(people: list) -> None:
    """Give the customers marked pending a KYC submission to review: ID card and selfie, a utility bill for some,
    one ID number shared with another customer and one expired passport, so the queue shows its flags."""
    pending = [c for c in people if c.kyc_status == KycStatus.PENDING]
    now, today = utcnow(), business_day.today()
    makers = [db.session.get(User, c.created_by_id) for c in pending]
    # One ID number another customer holds, on a customer of the east team (so manager.east sees the flag too).
    shared = next((n for n, m in enumerate(makers) if n and m.manager and m.manager.username == "manager.east"), 1)
    for n, (customer, maker) in enumerate(zip(pending, makers, strict=True)):
        number = people[0].national_id if n == shared else customer.national_id
        uploads = [("national_id", number, ID_CARD, "id-front.png", date(2016, 3, 1), None),
                   ("selfie", None, SELFIE, "selfie.png", None, None)]
        if n % 3 == 0:
            uploads.append(("proof_of_address", None, _pdf(["Kenya Power - electricity bill", customer.name,
                                                            customer.location or "Nairobi"]),
                            "kplc-bill.pdf", today - timedelta(days=20), None))
        if n == 0:
            uploads.append(("passport", f"AK{400000 + n}", ID_CARD, "passport.png", date(2014, 6, 1),
                            today - timedelta(days=40)))
        for kind, doc_number, data, filename, issued, expires in uploads:
            kyc.upload(customer, doc_type=kind, filename=filename, content=io.BytesIO(data),
                       document_number=doc_number, issue_date=issued, expiry_date=expires, actor=maker)
        submission = kyc.submit(customer, actor=maker)
        submission.created_at = now - timedelta(days=len(pending) - n, hours=n % 7)
    db.session.flush()
