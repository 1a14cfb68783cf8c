#!/usr/bin/env python3
"""Writes N FileVault-style rows (serial, computer, key) as CSV to stdout,
and, with --keepass, the same secrets as KeePass 2 XML (for keepassxc-cli
import); with --bitlocker, N BitLocker rows (device, key ID GUID, recovery
password) for `import --format bitlocker`. Deterministic for a given N."""
import random
import sys

n = int(sys.argv[1])
mode = sys.argv[2] if len(sys.argv) > 2 else "--csv"
rng = random.Random(n)
alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
if mode == "--bitlocker":
    out = sys.stdout
    out.write("Device,Key ID,Recovery Key\n")
    for i in range(n):
        guid = "-".join("".join(rng.choice("0123456789ABCDEF") for _ in range(k)) for k in (8, 4, 4, 4, 12))
        key = "-".join(f"{11 * rng.randrange(65536):06d}" for _ in range(8))
        out.write(f"DESKTOP-{i:07d},{guid},{key}\n")
    sys.exit(0)
rows = []
for i in range(n):
    key = "-".join("".join(rng.choice(alphabet) for _ in range(4)) for _ in range(6))
    rows.append((f"C02{i:08d}X", f"mac-{i}", key))
out = sys.stdout
if mode == "--csv":
    out.write("Serial Number,Computer Name,Recovery Key\n")
    for serial, name, key in rows:
        out.write(f"{serial},{name},{key}\n")
elif mode == "--keepass":
    out.write('<?xml version="1.0" encoding="utf-8" standalone="yes"?>\n<KeePassFile><Root><Group><Name>Root</Name>\n')
    for serial, name, key in rows:
        out.write(f"<Entry><String><Key>Title</Key><Value>filevault-{serial}</Value></String>"
                  f"<String><Key>UserName</Key><Value>{name}</Value></String>"
                  f"<String><Key>Password</Key><Value>{key}</Value></String></Entry>\n")
    out.write("</Group></Root></KeePassFile>\n")
elif mode == "--secrets":
    for serial, _, key in rows:
        out.write(f"{serial} {key}\n")
