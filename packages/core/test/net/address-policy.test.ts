/**
 * The outbound address rules as tables: classifyAddress (resolved addresses) and checkUrl
 * (what is refused from the URL alone, before any lookup or socket).
 */
import { describe, expect, it } from "vitest";
import { checkUrl, classifyAddress, guardedFetch, OutboundFetchError } from "../../src/net/index.ts";

const publicOnly = { allowPrivateNetworks: false };
const privateAllowed = { allowPrivateNetworks: true };

/** [address, range the verdict reports] — all refused by default. */
const REFUSED: Array<[string, string]> = [
  ["127.0.0.1", "loopback"],
  ["127.255.255.254", "loopback"],
  ["10.0.0.1", "private"],
  ["172.16.0.1", "private"],
  ["172.31.255.255", "private"],
  ["192.168.1.1", "private"],
  ["169.254.1.1", "linkLocal"],
  ["169.254.169.254", "metadata"],
  ["169.254.170.2", "metadata"],
  ["168.63.129.16", "metadata"], // Azure WireServer sits in public space
  ["100.100.100.200", "metadata"],
  ["100.64.0.1", "carrierGradeNat"],
  ["100.127.255.254", "carrierGradeNat"],
  ["224.0.0.1", "multicast"],
  ["239.255.255.250", "multicast"],
  ["0.0.0.0", "unspecified"],
  ["0.1.2.3", "unspecified"],
  ["255.255.255.255", "broadcast"],
  ["192.0.2.1", "reserved"], // TEST-NET-1
  ["198.51.100.7", "reserved"], // TEST-NET-2
  ["203.0.113.9", "reserved"], // TEST-NET-3
  ["198.18.0.1", "reserved"], // benchmarking
  ["240.0.0.1", "reserved"],
  ["192.0.0.8", "reserved"],
  ["::1", "loopback"],
  ["::", "unspecified"],
  ["fe80::1", "linkLocal"],
  ["fe80::1%eth0", "zoned"],
  ["fc00::1", "uniqueLocal"],
  ["fd12:3456:789a::1", "uniqueLocal"],
  ["fd00:ec2::254", "metadata"],
  ["ff02::1", "multicast"],
  ["2001:db8::1", "reserved"], // documentation
  ["::ffff:127.0.0.1", "loopback"],
  ["::ffff:7f00:1", "loopback"],
  ["::ffff:10.0.0.1", "private"],
  ["::ffff:169.254.169.254", "metadata"],
  ["::ffff:0.0.0.0", "unspecified"],
  ["::ffff:0:127.0.0.1", "loopback"], // IPv4-translated (RFC 6145)
  ["::127.0.0.1", "ipv4Embedding"], // IPv4-compatible (deprecated)
  ["::7f00:1", "ipv4Embedding"],
  ["::8.8.8.8", "ipv4Embedding"],
  ["64:ff9b::127.0.0.1", "loopback"], // NAT64
  ["64:ff9b::a00:1", "private"],
  ["64:ff9b::a9fe:a9fe", "metadata"],
  ["64:ff9b:1::a00:1", "ipv4Embedding"], // local-use NAT64
  ["2002:7f00:1::1", "loopback"], // 6to4 of 127.0.0.1
  ["2002:a9fe:a9fe::", "metadata"], // 6to4 of 169.254.169.254
  ["2002:c0a8:101::1", "private"],
  ["2001:0:4136:e378:8000:63bf:3fff:fdd2", "ipv4Embedding"], // Teredo
  ["not-an-ip", "invalid"],
];

const ALLOWED = ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700:4700::1111", "2a00:1450:4001:81a::200e", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"];

describe("classifyAddress", () => {
  it.each(REFUSED)("refuses %s (%s)", (address, range) => {
    expect(classifyAddress(address, publicOnly)).toEqual({ allowed: false, range });
  });

  it.each(ALLOWED)("allows public unicast %s", (address) => {
    expect(classifyAddress(address, publicOnly).allowed).toBe(true);
  });

  it("FETCH_ALLOW_PRIVATE_NETWORKS opens loopback, RFC 1918, ULA and CGNAT (also in IPv6 wrappers) and nothing else", () => {
    for (const address of ["127.0.0.1", "10.0.0.1", "172.20.1.1", "192.168.1.1", "100.64.0.1", "::1", "fd12:3456:789a::1", "::ffff:127.0.0.1", "64:ff9b::a00:1", "2002:c0a8:101::1"]) {
      expect(classifyAddress(address, privateAllowed), address).toMatchObject({ allowed: true });
    }
    for (const address of ["169.254.169.254", "169.254.1.1", "fe80::1", "fd00:ec2::254", "168.63.129.16", "100.100.100.200", "0.0.0.0", "::", "224.0.0.1", "ff02::1", "255.255.255.255", "192.0.2.1", "2001:db8::1", "::127.0.0.1", "2001:0:4136:e378:8000:63bf:3fff:fdd2"]) {
      expect(classifyAddress(address, privateAllowed), address).toMatchObject({ allowed: false });
    }
  });

  it("an explicitly allowed address is allowed whatever its range, but never a metadata address", () => {
    expect(classifyAddress("127.0.0.3", { allowPrivateNetworks: false, allowAddresses: ["127.0.0.3"] }).allowed).toBe(true);
    expect(classifyAddress("127.0.0.4", { allowPrivateNetworks: false, allowAddresses: ["127.0.0.3"] }).allowed).toBe(false);
    expect(classifyAddress("169.254.169.254", { allowPrivateNetworks: true, allowAddresses: ["169.254.169.254"] }).allowed).toBe(false);
  });
});

describe("checkUrl (no lookup needed)", () => {
  const REFUSED_URLS = [
    "http://127.0.0.1/",
    "http://2130706433/", // decimal
    "http://0x7f.1/", // hex, short form
    "http://0x7f000001/",
    "http://0177.0.0.1/", // octal
    "http://127.1/",
    "http://017700000001/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]:8080/x",
    "http://[0:0:0:0:0:ffff:7f00:1]/",
    "http://[64:ff9b::7f00:1]/",
    "http://0.0.0.0:8080/",
    "http://0/",
    "http://10.1.2.3/",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fd00:ec2::254]/",
    "http://localhost/",
    "http://LOCALHOST./",
    "http://api.localhost/",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://a@127.0.0.1/",
    "http://example.com@127.0.0.1/",
    "http://user:pass@example.com/",
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_INFO",
    "ftp://example.com/x.png",
    "data:image/png;base64,AAAA", // only where the caller accepts data: (handled before checkUrl)
    "javascript:alert(1)",
    "dict://127.0.0.1:11211/stat",
    "not a url",
    "/relative/path.png",
  ];

  it.each(REFUSED_URLS)("refuses %s", (url) => {
    expect(() => checkUrl(url, publicOnly)).toThrowError(expect.objectContaining({ code: "url_not_allowed" }) as Error);
  });

  it("lets public names and addresses through to the resolution step", () => {
    expect(checkUrl("https://example.com/a.png", publicOnly).hostname).toBe("example.com");
    expect(checkUrl("http://8.8.8.8/x", publicOnly).hostname).toBe("8.8.8.8");
    expect(checkUrl("http://[2606:4700:4700::1111]/", publicOnly).hostname).toBe("[2606:4700:4700::1111]");
    expect(checkUrl("http://127.0.0.1:9/x", privateAllowed).port).toBe("9");
  });

  it("guardedFetch refuses these before resolving anything", async () => {
    const resolve = () => Promise.reject(new Error("the resolver must not be called"));
    for (const url of ["http://2130706433/", "http://[::ffff:7f00:1]/", "http://localhost:1/", "http://a@127.0.0.1/", "gopher://127.0.0.1/", "file:///etc/passwd", "data:image/png;base64,AAAA"]) {
      const err = await guardedFetch(url, { policy: { allowPrivateNetworks: false, timeoutMs: 1000, maxBytes: 1024, resolve } }).catch((e: unknown) => e);
      expect(err, url).toBeInstanceOf(OutboundFetchError);
      expect(err, url).toMatchObject({ code: "url_not_allowed" });
    }
  });
});
