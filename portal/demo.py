"""Realistic Kenyan demo data: two teams of staff and customers across Nairobi's markets."""

import random
from datetime import date, timedelta

from portal.models import KycLevel, KycStatus, Role
from portal.models.base import db, utcnow
from portal.services import customers, users

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
    borrower = users.create(users.NewUser(username="borrower.demo", password=PASSWORD, role=Role.BORROWER,
                                          email="borrower.demo@example.co.ke", first_name="Wanjiku",
                                          last_name="Demo"), actor=None, by_system=True)
    customer = customers.create({"name": "Wanjiku Demo", "phone": "0722000111", "national_id": "30111222",
                                 "location": "Gikomba Market"}, actor=creators[0])
    customer.user_id = borrower.id
    db.session.flush()
    return [(u, role.value) for u, _f, _l, role, _m in STAFF] + [("borrower.demo", "borrower (API only)")]
