"""Generates version-vectors.json: for each way an Infrahub release signed a
webhook, the bytes on the wire and the signature, made with the very calls
Infrahub made (CPython's json and str on the payload dict).

Sources (opsmill/infrahub):
  - backend/infrahub/webhook/models.py, StandardWebhook._assign_headers /
    Webhook._assign_headers: f"{message_id}.{timestamp}.{payload}" where
    payload is the dict (<= 1.2.9), json.dumps(payload) (1.2.10, PR #6432),
    json.dumps(payload, separators=(",", ":")) (1.7.5, PR #8344);
    key = shared_key.encode(); HMAC-SHA256; header "v1," + base64.
  - the body is sent by httpx's json= argument: json.dumps(payload) up to
    httpx 0.27.2 (Infrahub < 1.7.0), json.dumps(payload, ensure_ascii=False,
    separators=(",", ":"), allow_nan=False) from httpx 0.28 (Infrahub 1.7.0,
    see the description of PR #8344).
Run: python3 gen.py > version-vectors.json
"""
import base64, hashlib, hmac, json, sys

KEY = "supersecretkey"
TS = "1741883474"

def httpx027(p):
    return json.dumps(p)

def httpx028(p):
    return json.dumps(p, ensure_ascii=False, separators=(",", ":"), allow_nan=False)

SCHEMES = [
    ("1.0-1.2.9", lambda p: str(p), httpx027),
    ("1.2.10-1.6", lambda p: json.dumps(p), httpx027),
    ("1.7.0-1.7.4", lambda p: json.dumps(p), httpx028),
    ("1.7.5+", lambda p: json.dumps(p, separators=(",", ":")), httpx028),
]

def load(name):
    with open("../" + name) as f:
        return json.load(f)

tricky_data = {
    "kind": "InfraDevice", "node_id": "n-1", "action": "updated", "fields": ["description"],
    "changelog": {"node_id": "n-1", "node_kind": "InfraDevice", "display_label": "it's \"core\"",
        "attributes": {"description": {"name": "description", "kind": "Text",
            "value": "Zürich – core 😀 \u00a0nbsp \u00adshy \u2028ls \x7f del \t\n\\ / <&>",
            "value_previous": "Genève 'quoted'", "value_update_status": "updated", "properties": {}},
            "mtu": {"name": "mtu", "kind": "Number", "value": 9216, "value_previous": 1500.5,
            "value_update_status": "updated", "properties": {}},
            "enabled": {"name": "enabled", "kind": "Boolean", "value": True, "value_previous": None,
            "value_update_status": "added", "properties": {}},
            "tags": {"name": "tags", "kind": "List", "value": [], "value_previous": [1e-07, 1e+16, -0.0, 12345678901234567890],
            "value_update_status": "updated", "properties": {}}},
        "relationships": {}},
}

PAYLOADS = [
    ("node.updated docs", load("docs-infrahub.node.updated.json")),
    ("branch.created docs", load("docs-infrahub.branch.created.json")),
    ("tricky strings and numbers", {"data": tricky_data, "id": "ev-tricky", "branch": "main",
        "account_id": "a-1", "occured_at": "2025-03-13 16:36:25.688038+00:00", "event": "infrahub.node.updated"}),
    ("legacy 1.0/1.1 envelope", {"event_type": "infrahub.node.updated", "data": {"kind": "InfraDevice", "node_id": "n-1",
        "description": "Zürich 'core'"}}),
]

out = []
for i, (pname, payload) in enumerate(PAYLOADS):
    for sname, signed, wire in SCHEMES:
        if sname != "1.0-1.2.9" and pname.startswith("legacy"):
            continue  # the {event_type, data} envelope ended with 1.1
        msg = "msg_%032x" % (len(out) + 1)
        text = f"{msg}.{TS}.{signed(payload)}".encode()
        sig = "v1," + base64.b64encode(hmac.new(KEY.encode(), text, hashlib.sha256).digest()).decode()
        out.append({"name": f"{pname} / Infrahub {sname}", "release": sname, "shared_key": KEY,
            "webhook-id": msg, "webhook-timestamp": TS, "wire_body": wire(payload),
            "signed_text": signed(payload), "expected_signature": sig})
json.dump(out, sys.stdout, indent=1, ensure_ascii=False)
print()
