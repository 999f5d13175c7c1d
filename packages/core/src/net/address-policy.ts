/**
 * Which addresses an outbound fetch may connect to (docs/ARCHITECTURE.md, Access → Outbound
 * fetches). Pure functions: no DNS, no sockets, so every rule is testable as a table.
 *
 * Only globally routable unicast is allowed. IPv6 forms that carry an IPv4 address (mapped,
 * translated, NAT64, 6to4) are judged by the IPv4 address they carry; forms whose embedded
 * address cannot be judged reliably (IPv4-compatible ::/96, local-use NAT64, Teredo) are refused.
 */
import ipaddr from "ipaddr.js";

export interface AddressPolicy {
  /** FETCH_ALLOW_PRIVATE_NETWORKS: also allow loopback, RFC 1918, ULA and CGNAT. Never metadata, link-local or non-unicast. */
  allowPrivateNetworks: boolean;
  /** Exact addresses allowed whatever their range (never metadata). Not configurable: tests use it to allow one loopback server. */
  allowAddresses?: readonly string[];
}

export interface AddressVerdict {
  allowed: boolean;
  /** ipaddr.js range name of the judged address (of the embedded IPv4 for IPv6 wrappers), or our own label. */
  range: string;
}

/** Cloud instance-metadata endpoints: refused even when private networks are allowed. */
const METADATA_ADDRESSES = new Set([
  "169.254.169.254", // AWS, GCP, Azure IMDS, OpenStack, DigitalOcean…
  "169.254.170.2", // AWS ECS task metadata
  "169.254.170.23", // AWS EKS pod identity
  "168.63.129.16", // Azure WireServer (a public address)
  "100.100.100.200", // Alibaba Cloud
  "192.0.0.192", // Oracle Cloud (legacy)
  "fd00:ec2::254", // AWS IMDS over IPv6
  "fd00:ec2::23", // AWS EKS pod identity over IPv6
]);

/** Names that resolve to the host itself or to metadata services, refused before any lookup (RFC 6761 and cloud conventions). */
const BLOCKED_NAMES = new Set(["localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback", "metadata", "metadata.google.internal", "instance-data", "instance-data.ec2.internal"]);

/** Ranges FETCH_ALLOW_PRIVATE_NETWORKS opens. Link-local stays closed: it is where metadata services live. */
const PRIVATE_RANGES = new Set(["loopback", "private", "uniqueLocal", "carrierGradeNat"]);

export function isBlockedHostname(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.+$/, "");
  return BLOCKED_NAMES.has(name) || name.endsWith(".localhost");
}

/** `address` is an IP literal without brackets ("127.0.0.1", "::ffff:7f00:1"). Anything unparsable is refused. */
export function classifyAddress(address: string, policy: AddressPolicy): AddressVerdict {
  if (address.includes("%")) return { allowed: false, range: "zoned" };
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    // IPv6 goes through the WHATWG parser first: ipaddr.js reads "::a.b.c.d" as IPv4-mapped,
    // where the socket layer (and the RFC) see the IPv4-compatible ::a.b.c.d.
    parsed = address.includes(":") ? ipaddr.IPv6.parse(new URL(`http://[${address}]/`).hostname.slice(1, -1)) : ipaddr.IPv4.parse(address);
  } catch {
    return { allowed: false, range: "invalid" };
  }
  if (parsed.kind() === "ipv6") {
    const embedded = embeddedIPv4(parsed as ipaddr.IPv6);
    if (embedded === "refuse") return { allowed: false, range: "ipv4Embedding" };
    if (embedded) return judge(embedded, policy);
  }
  return judge(parsed, policy);
}

function judge(ip: ipaddr.IPv4 | ipaddr.IPv6, policy: AddressPolicy): AddressVerdict {
  const range = ip.range();
  if (METADATA_ADDRESSES.has(ip.toNormalizedString()) || METADATA_ADDRESSES.has(ip.toString())) return { allowed: false, range: "metadata" };
  if (range === "unicast" || policy.allowAddresses?.includes(ip.toString())) return { allowed: true, range };
  return { allowed: policy.allowPrivateNetworks && PRIVATE_RANGES.has(range), range };
}

/** The IPv4 address an IPv6 transition form carries, null for native IPv6, "refuse" for forms we do not unwrap. */
function embeddedIPv4(ip: ipaddr.IPv6): ipaddr.IPv4 | null | "refuse" {
  const p = ip.parts;
  const low32 = () => new ipaddr.IPv4([p[6]! >> 8, p[6]! & 0xff, p[7]! >> 8, p[7]! & 0xff]);
  switch (ip.range()) {
    case "ipv4Mapped": // ::ffff:a.b.c.d
    case "rfc6145": // ::ffff:0:a.b.c.d
      return low32();
    case "rfc6052": // 64:ff9b::a.b.c.d well-known NAT64; 64:ff9b:1::/48 is local-use with operator-chosen layout
      return p[2] === 0 && p[3] === 0 && p[4] === 0 && p[5] === 0 ? low32() : "refuse";
    case "6to4": // 2002:AABB:CCDD::/48
      return new ipaddr.IPv4([p[1]! >> 8, p[1]! & 0xff, p[2]! >> 8, p[2]! & 0xff]);
    case "teredo":
      return "refuse";
  }
  // IPv4-compatible ::a.b.c.d (deprecated; :: and ::1 are judged as themselves).
  if (p.slice(0, 6).every((x) => x === 0) && (p[6] !== 0 || p[7]! > 1)) return "refuse";
  return null;
}
