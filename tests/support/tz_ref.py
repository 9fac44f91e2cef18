"""Reference for tests/unit/tz_spec.lua: Python's zoneinfo on the same
system zoneinfo files. Reads lines "L zone t" (UTC instant -> local fields)
and "U zone Y M D h m s" (wall time, fold=0 -> UTC instant); writes one
answer line per input line."""
import sys
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

for line in sys.stdin:
    p = line.split()
    z = ZoneInfo(p[1])
    if p[0] == "L":
        d = datetime.fromtimestamp(int(p[2]), timezone.utc).astimezone(z)
        off = int(d.utcoffset().total_seconds())
        print(d.year, d.month, d.day, d.hour, d.minute, d.second, d.isoweekday(), off)
    else:
        y, mo, da, h, mi, s = map(int, p[2:8])
        d = datetime(y, mo, da, h, mi, s, tzinfo=z, fold=0)
        print(int(d.timestamp()))
