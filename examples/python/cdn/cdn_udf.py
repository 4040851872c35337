"""`ip_to_province`: the province of a client's IPv4 address. The original job asked a web
service; this one looks the address up in `ip_ranges.csv`, loaded once per process."""

import bisect
import ipaddress
import pathlib

from pyflink_rs.table import DataTypes
from pyflink_rs.table.udf import udf

RANGES_FILE = pathlib.Path(__file__).with_name("ip_ranges.csv")
UNKNOWN = "unknown"


def load_ranges(path=RANGES_FILE):
    """The ranges of `path` as (starts, ends, provinces), sorted by start."""
    ranges = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        start, end, province = (part.strip() for part in line.split(","))
        ranges.append((int(ipaddress.IPv4Address(start)), int(ipaddress.IPv4Address(end)), province))
    ranges.sort()
    return [r[0] for r in ranges], [r[1] for r in ranges], [r[2] for r in ranges]


_STARTS, _ENDS, _PROVINCES = load_ranges()


def province_of(ip):
    """The province of the address `ip` (text), or 'unknown' for an address in no range, or
    for text that is no IPv4 address."""
    try:
        address = int(ipaddress.IPv4Address(ip.strip()))
    except (AttributeError, ValueError):
        return UNKNOWN
    index = bisect.bisect_right(_STARTS, address) - 1
    if index >= 0 and address <= _ENDS[index]:
        return _PROVINCES[index]
    return UNKNOWN


@udf(input_types=[DataTypes.STRING()], result_type=DataTypes.STRING())
def ip_to_province(ip):
    return province_of(ip)
