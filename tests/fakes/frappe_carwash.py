"""The car-service seed's Frappe app (../shared/seeds/carwash-whatsapp-checklist.txt,
"Frappe API Integration"), as tests/fakes/frappe.py serves it: its doctypes,
seeded on start and on /_control/reset, and its whitelisted methods.

The seed names the methods, not the doctypes; these are assumed, with the
fields the methods need:
  Service Product  name (product id), product_name, service_category ("Car Wash"),
                   frequency_type ("One Time"), vehicle_type ("Hatchback" | "Sedan" | "SUV"),
                   base_price, is_active: one product per service and vehicle type
  Service Addon    name (addon id), addon_name, vehicle_type, unit_price, is_active
  Service Booking  name (the booking id, SR-XXXXXXXX), product_id, addon_ids, customer_name,
                   phone, vehicle, vehicle_type, plate, booking_date, time_slot, total, status
Methods ({"message": ...} around each return value):
  customer_portal.get_filtered_services(category, frequency (or frequency_type), vehicle_type)
      -> {"success": true, "services": [{product_id, product_name, base_price, vehicle_type,
                                          service_category, frequency_type}]}
  booking.get_optional_addons(product_id)
      -> {"success": true, "addons": [{addon_id, addon_name, unit_price}]} | 404 DoesNotExistError
  booking.calculate_booking_price(product_id, addon_ids, electricity, water)
      -> {"success": true, "base_price", "addon_total", "discount", "total"}
         (the customer giving electricity / water takes 50 / 30 off)
  booking.create_booking(product_id, booking_date, ...) -> {"success": true, "booking_id": "SR-..."}
Arguments come from the query (GET) or a JSON body (POST); a list argument may be a
JSON string, as Frappe's form arguments are.
"""
import itertools
import json

PRICES = {   # base price per service and vehicle type (not business.lua's: the specs tell them apart)
    "Basic Wash": {"Hatchback": 449, "Sedan": 549, "SUV": 699},
    "Foam Wash": {"Hatchback": 749, "Sedan": 849, "SUV": 1099},
    "Interior Cleaning": {"Hatchback": 899, "Sedan": 1049, "SUV": 1299},
    "Full Detailing": {"Hatchback": 2199, "Sedan": 2599, "SUV": 3199},
}
ADDONS = {
    "Wax polish": {"Hatchback": 249, "Sedan": 319, "SUV": 399},
    "Tyre shine": {"Hatchback": 129, "Sedan": 149, "SUV": 199},
    "Interior vacuum": {"Hatchback": 179, "Sedan": 219, "SUV": 279},
    "Engine bay clean": {"Hatchback": 349, "Sedan": 399, "SUV": 499},
}
DISCOUNT = {"electricity": 50, "water": 30}


def code(title):
    return title.upper().replace(" ", "-")


def seed(records):
    """The app's catalogue, as its doctypes hold it."""
    for title, per in PRICES.items():
        for vtype, price in per.items():
            name = f"PRD-{code(vtype)}-{code(title)}"
            records.add("Service Product", {"name": name, "doctype": "Service Product", "product_name": title,
                                            "service_category": "Car Wash", "frequency_type": "One Time",
                                            "vehicle_type": vtype, "base_price": price, "is_active": 1,
                                            "docstatus": 0}, rid=name)
    for title, per in ADDONS.items():
        for vtype, price in per.items():
            name = f"ADD-{code(vtype)}-{code(title)}"
            records.add("Service Addon", {"name": name, "doctype": "Service Addon", "addon_name": title,
                                          "vehicle_type": vtype, "unit_price": price, "is_active": 1,
                                          "docstatus": 0}, rid=name)


def _list(v):
    if isinstance(v, str):
        try:
            v = json.loads(v) if v.strip() else []
        except ValueError:
            v = [s for s in v.split(",") if s]
    return v if isinstance(v, list) else []


def _flag(v):
    return str(v).lower() in ("1", "true", "yes")


class App:
    """The methods; error(exc_type, message) builds Frappe's error reply."""

    def __init__(self, fake, error, ok):
        self.fake, self.error, self.ok = fake, error, ok
        self.ids = itertools.count(1)

    def _product(self, pid):
        p = self.fake.records.get("Service Product", pid)
        return p if p and p.get("is_active") else None

    def get_filtered_services(self, a):
        vtype = a.get("vehicle_type")
        freq = a.get("frequency", a.get("frequency_type"))
        out = []
        for p in self.fake.records.all("Service Product"):
            if not p.get("is_active") or (a.get("category") and p["service_category"] != a["category"]):
                continue
            if (freq and p["frequency_type"] != freq) or (vtype and p["vehicle_type"] != vtype):
                continue
            out.append({"product_id": p["name"], "product_name": p["product_name"], "base_price": p["base_price"],
                        "vehicle_type": p["vehicle_type"], "service_category": p["service_category"],
                        "frequency_type": p["frequency_type"]})
        return self.ok({"success": True, "services": out})

    def get_optional_addons(self, a):
        p = self._product(a.get("product_id"))
        if not p:
            return self.error("DoesNotExistError", f"Service Product {a.get('product_id')} not found")
        addons = [{"addon_id": x["name"], "addon_name": x["addon_name"], "unit_price": x["unit_price"]}
                  for x in self.fake.records.all("Service Addon")
                  if x.get("is_active") and x.get("vehicle_type") in (None, "", p["vehicle_type"])]
        return self.ok({"success": True, "addons": addons})

    def calculate_booking_price(self, a):
        p = self._product(a.get("product_id"))
        if not p:
            return self.error("DoesNotExistError", f"Service Product {a.get('product_id')} not found")
        addon_total = 0
        for aid in _list(a.get("addon_ids")):
            x = self.fake.records.get("Service Addon", aid)
            if x is None:
                return self.error("ValidationError", f"Add-on {aid} not found")
            addon_total += x["unit_price"]
        discount = sum(v for k, v in DISCOUNT.items() if _flag(a.get(k)))
        return self.ok({"success": True, "base_price": p["base_price"], "addon_total": addon_total,
                        "discount": discount, "total": p["base_price"] + addon_total - discount})

    def create_booking(self, a):
        if not self._product(a.get("product_id")):
            return self.error("ValidationError", "Please select a valid service")
        if not a.get("booking_date"):
            return self.error("MandatoryError", "booking_date is mandatory")
        name = a.get("booking_id") or f"SR-{next(self.ids):08d}"
        if self.fake.records.get("Service Booking", name) is not None:
            return self.error("DuplicateEntryError", f"Service Booking {name} already exists")
        doc = {k: v for k, v in a.items() if k not in ("cmd", "booking_id")}
        doc.update({"name": name, "doctype": "Service Booking", "status": doc.get("status", "Confirmed"),
                    "addon_ids": _list(a.get("addon_ids")), "docstatus": 0})
        self.fake.records.add("Service Booking", doc, rid=name)
        return self.ok({"success": True, "booking_id": name})

    METHODS = {
        "customer_portal.get_filtered_services": get_filtered_services,
        "booking.get_optional_addons": get_optional_addons,
        "booking.calculate_booking_price": calculate_booking_price,
        "booking.create_booking": create_booking,
    }

    def method(self, path, args):
        """The reply of a whitelisted method of the app, or None (not the app's)."""
        fn = self.METHODS.get(path)
        return fn(self, args) if fn else None
