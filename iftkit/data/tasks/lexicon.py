"""Word lists the task families draw from (all written for this project)."""

FIRST_NAMES = (
    "Ana Ben Cara Dev Elif Finn Gia Hugo Ines Jon Kira Liam Maya Noah Omar Pia Quinn Rosa "
    "Sam Tara Uma Vik Wen Yara Zoe Alex Bruno Chloe Diego Emma Felix Hana Ivan Julia Kofi "
    "Lena Marco Nadia Oscar Priya Ravi Sofia Theo Ugo Vera Will Xena Yusuf Zara").split()
LAST_NAMES = (
    "Silva Lee Novak Khan Garcia Müller Rossi Chen Okafor Larsen Dubois Tanaka Patel Cohen "
    "Ivanova Moreau Haddad Kowalski Nguyen Santos Berg Fischer Costa Ali Brennan Sato").split()
CITIES = (
    "Lisbon Paris Berlin Madrid Rome Vienna Prague Dublin Oslo Warsaw Athens Lyon Porto Milan "
    "Munich Zurich Geneva Seville Krakow Bristol Leeds Glasgow Toronto Denver Austin Boston "
    "Osaka Nairobi Lagos Cairo Lima Quito Perth Auckland").split()
ORGS = (
    "Norbank", "Veltro", "Quillsoft", "Brightwave", "Halcyon", "Tessera", "Orbit Labs", "Pinecrest",
    "Lumina", "Acorn Foods", "Redline Motors", "Sunvale", "Kestrel Air", "Marlow Health",
    "Cobalt Energy", "Fernway", "Granite Bank", "Nimbus Cloud", "Polaris Rail", "Juniper Books")
PRODUCTS = (
    "router", "laptop", "printer", "phone", "tablet", "smartwatch", "headset", "monitor",
    "keyboard", "camera", "speaker", "charger", "modem", "projector", "scanner", "webcam")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
DOMAINS = ("example.com", "mail.org", "acme.io", "postbox.net", "corp.co", "inbox.dev", "work.eu")

CATEGORIES = {
    "fruit": ("apple", "banana", "cherry", "grape", "lemon", "mango", "orange", "peach", "pear",
              "plum", "kiwi", "fig", "melon", "apricot", "lime", "papaya", "coconut", "raspberry"),
    "color": ("red", "blue", "green", "yellow", "purple", "orange", "pink", "brown", "black",
              "white", "grey", "gray", "violet", "indigo", "turquoise", "beige", "maroon", "teal"),
    "animal": ("cat", "dog", "horse", "cow", "sheep", "goat", "lion", "tiger", "bear", "wolf",
               "fox", "rabbit", "deer", "mouse", "owl", "eagle", "shark", "whale", "frog", "zebra"),
    "vegetable": ("carrot", "potato", "onion", "pea", "bean", "cabbage", "lettuce", "spinach",
                  "broccoli", "leek", "celery", "pepper", "cucumber", "radish", "turnip", "kale"),
    "sport": ("football", "tennis", "golf", "rugby", "cricket", "hockey", "swimming", "cycling",
              "rowing", "boxing", "skiing", "basketball", "baseball", "volleyball", "judo", "surfing"),
    "instrument": ("piano", "guitar", "violin", "drum", "flute", "trumpet", "cello", "harp",
                   "clarinet", "saxophone", "oboe", "banjo", "ukulele", "trombone", "accordion"),
}
PLURALS = {"fruit": "fruits", "color": "colors", "animal": "animals", "vegetable": "vegetables",
           "sport": "sports", "instrument": "musical instruments"}
