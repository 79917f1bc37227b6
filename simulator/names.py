"""Word lists the generator draws from: people, businesses, places on the net."""

import unicodedata

LANGUAGES = ("en", "de", "fr", "es", "nl")

# fmt: off
FIRST_NAMES = (
    "Anna", "Ben", "Clara", "David", "Elif", "Felix", "Greta", "Hannah", "Ivan",
    "Jonas", "Katrin", "Lukas", "Marie", "Noah", "Olga", "Paul", "Quentin", "Rosa",
    "Sofia", "Tobias", "Ulla", "Victor", "Wiebke", "Xavier", "Yasmin", "Zoé",
    "Jürgen", "Sören", "Inès", "José", "Maël", "Björn", "Agnès", "Lucía", "Sven",
    "Fatma", "Pieter", "Mireille", "Joaquín", "Dörte",
)
LAST_NAMES = (
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner",
    "Becker", "Hoffmann", "Schäfer", "Koch", "Richter", "Klein", "Wolf",
    "Dubois", "Lefèvre", "Moreau", "Laurent", "García", "Martínez", "López",
    "de Vries", "Jansen", "Bakker", "Visser", "Smith", "Jones", "Taylor",
    "Brown", "Wilson", "Evans", "Öztürk", "Nowak", "Kowalski", "Novák", "Horvath",
)
BUSINESS_WORDS = (
    "Bau", "Reisen", "Immobilien", "Elektro", "Optik", "Fahrschule", "Weinhandel",
    "Blumen", "Consulting", "Yoga", "Catering", "Autohaus", "Druckerei", "Tierarzt",
    "Gartenbau", "Fitness", "Bike", "Coffee", "Design", "Sanitär",
)
COMPANY_FORMS = ("GmbH", "e.K.", "Ltd", "SARL", "B.V.", "OHG", "& Co. KG")

# Recipient systems without a feedback loop: their users complain by hand.
SMALL_DOMAINS = (
    "uni-musterstadt.example", "stadtwerke-nord.example", "kanzlei-ritter.example",
    "hotel-seeblick.example", "freemail.example", "mailbox-24.example",
    "posteo-like.example", "web-post.example", "correo-rapido.example",
    "boite.example", "brievenbus.example", "schule-am-see.example",
)
HUMAN_MX = {
    domain: f"mx{n % 3 + 1}.{domain}" for n, domain in enumerate(SMALL_DOMAINS)
}

# Outside the ISP: botnets, bulletproof hosters, the places stolen logins come from.
FOREIGN_PREFIXES = (
    "41.58.", "102.89.", "105.112.", "14.161.", "113.172.", "171.244.",
    "185.220.", "45.146.", "91.92.", "177.54.", "186.96.", "36.71.", "110.136.",
    "122.176.", "49.36.", "5.188.", "77.83.", "194.26.",
)
PC_NAMES = (
    "DESKTOP-{x}", "LAPTOP-{x}", "PC-{x}", "WIN-{x}", "User-PC", "HP-{x}",
    "Lenovo-{x}", "familie-pc", "buero{n}",
)

SPAM_SUBJECTS = (
    "Your parcel is waiting", "Invoice {n} overdue", "Re: your account",
    "Bitcoin doubled in 24h", "Cheap meds online", "Re: meeting tomorrow",
    "Your password expires today", "Ich habe dein Video", "Dringend: Rechnung {n}",
    "Hello dear", "Paiement refusé", "Confirm your mailbox", "Re: Re: Angebot",
    "Congratulations! You won", "Votre colis {n}", "Pedido {n} enviado",
    "Important notice", "Update required", "Hi", "Factuur {n}", "Photos",
    "New voicemail", "DHL: Zustellung fehlgeschlagen", "Netflix: payment failed",
    "Crypto signals", "Loan approved", "Your order {n}", "Fw: documents",
)
# fmt: on


def slug(text: str) -> str:
    """ASCII login-style spelling of a name: Müller -> mueller, García -> garcia."""
    text = text.lower().replace("ä", "ae").replace("ö", "oe").replace("ü", "ue")
    text = text.replace("ß", "ss")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c if c.isalnum() or c in ".-" else "" for c in text.replace(" ", ""))
