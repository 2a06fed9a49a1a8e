import * as assert from "node:assert/strict";
import { checkVethAttachmentInputs } from "../../components/src/common/specs/vethAttachment";
import { checkDockerContainerInputs } from "../../components/src/common/specs/dockerContainer";
import { checkNetworkInputs } from "../../components/src/common/specs/network";
import { checkBridgeInputs } from "../../components/src/common/specs/bridge";
import { checkVethLinkInputs } from "../../components/src/common/specs/vethLink";
import { checkMacvlanAttachmentInputs } from "../../components/src/common/specs/macvlanAttachment";
import {
    checkAddress,
    checkCidr,
    checkContainerRef,
    checkGatewayInSubnet,
    checkIfName,
    checkImage,
    checkIPv4,
    checkIPv6,
    checkSubnet,
    staticAddressFailure,
    checkLabels,
    checkMac,
    checkMtu,
    checkEndpoints,
    checkNetworkMode,
    checkPorts,
    checkRestartPolicy,
    parsePortSpec,
    UNKNOWN,
} from "../../components/src/common/validation";

const good = {
    container: "hn-dev-seed",
    bridge: "docker0",
    address: "172.17.0.3/16",
    containerIfName: "eth0",
    hostIfName: "hn-seed-1a2b3c",
    defaultRoute: true,
    owner: "hostnet/p/s/seed",
};

describe("validation: single fields (exact messages)", () => {
    const cases: [string, string | undefined][] = [
        [checkIfName("hostIfName", "eth0")!, undefined],
        [checkIfName("hostIfName", "a23456789012345")!, undefined],
        [
            checkIfName("hostIfName", "a234567890123456")!,
            '`hostIfName` must be at most 15 characters (the kernel\'s limit on interface names); "a234567890123456" has 16',
        ],
        [
            checkIfName("bridge", "br 0")!,
            "`bridge` may hold only letters, digits, '_', '.' and '-', starting with a letter or digit; got \"br 0\"",
        ],
        [
            checkIfName("bridge", "../x")!,
            "`bridge` may hold only letters, digits, '_', '.' and '-', starting with a letter or digit; got \"../x\"",
        ],
        [checkIfName("bridge", "")!, '`bridge` must be an interface name (a non-empty string); got ""'],
        [checkCidr("address", "172.17.0.3/16")!, undefined],
        [checkCidr("address", "10.0.0.1/32")!, undefined],
        [
            checkCidr("address", "172.17.0.3")!,
            '`address` must be an IPv4 address with its prefix length (1-32), like 172.17.0.3/16; got "172.17.0.3"',
        ],
        [
            checkCidr("address", "172.17.0.300/16")!,
            '`address` must be an IPv4 address with its prefix length (1-32), like 172.17.0.3/16; got "172.17.0.300/16"',
        ],
        [
            checkCidr("address", "172.17.0.3/33")!,
            '`address` must be an IPv4 address with its prefix length (1-32), like 172.17.0.3/16; got "172.17.0.3/33"',
        ],
        [
            checkCidr("address", "172.17.0.0/16")!,
            '`address` "172.17.0.0/16" is the network address of its subnet; choose a host address inside it, like 172.17.0.3/16',
        ],
        [
            checkCidr("address", "172.17.255.255/16")!,
            '`address` "172.17.255.255/16" is the broadcast address of its subnet; choose a host address inside it, like 172.17.0.3/16',
        ],
        [checkCidr("address", 3)!, "`address` must be an IPv4 address with its prefix length, like 172.17.0.3/16; got 3"],
        [checkIPv4("gateway", "172.17.0.1")!, undefined],
        [
            checkIPv4("gateway", "172.17.0.01")!,
            '`gateway` must be an IPv4 address without a prefix length, like 172.17.0.1; got "172.17.0.01"',
        ],
        [
            checkIPv4("gateway", "172.17.0.1/16")!,
            '`gateway` must be an IPv4 address without a prefix length, like 172.17.0.1; got "172.17.0.1/16"',
        ],
        [
            checkGatewayInSubnet("10.0.0.1", "172.17.0.3/16")!,
            "`gateway` 10.0.0.1 is outside the subnet of `address` 172.17.0.3/16: the default route could not reach it; use an address in that subnet (usually the bridge's)",
        ],
        [
            checkGatewayInSubnet("172.17.0.3", "172.17.0.3/16")!,
            "`gateway` 172.17.0.3 is the attachment's own `address`; use the bridge's address instead",
        ],
        [checkGatewayInSubnet("172.17.200.1", "172.17.0.3/16")!, undefined],
        [checkMtu("mtu", 1500)!, undefined],
        [checkMtu("mtu", 67)!, "`mtu` must be an integer from 68 to 65535 (bytes); got 67"],
        [checkMtu("mtu", 1500.5)!, "`mtu` must be an integer from 68 to 65535 (bytes); got 1500.5"],
        [checkMac("mac", "02:42:ac:11:00:03")!, undefined],
        [checkMac("mac", "02:42:ac:11:00")!, '`mac` must be a MAC address like 02:42:ac:11:00:03; got "02:42:ac:11:00"'],
        [
            checkMac("mac", "01:00:5e:00:00:01")!,
            '`mac` "01:00:5e:00:00:01" is a multicast address (lowest bit of the first byte set); use a unicast one such as 02:...',
        ],
        [checkContainerRef("container", "web-1")!, undefined],
        [
            checkContainerRef("container", "-web")!,
            "`container` must be a container name or id (letters, digits, '_', '.', '-'); got \"-web\"",
        ],
        [checkImage("image", "hostnet/busybox:1")!, undefined],
        [
            checkImage("image", "Busybox")!,
            '`image` must be an image reference like hostnet/busybox:1 (lower-case repository, optional tag); got "Busybox"',
        ],
        [checkLabels("labels", { team: "net" })!, undefined],
        [
            checkLabels("labels", { "io.hostnet.owner": "me" })!,
            '`labels` may not set "io.hostnet.owner": labels under io.hostnet. (such as io.hostnet.owner) are the library\'s ownership marks; choose another label name',
        ],
        [checkNetworkMode("networkMode", "none")!, undefined],
        [checkNetworkMode("networkMode", "container:web")!, undefined],
        [
            checkNetworkMode("networkMode", "container:")!,
            '`networkMode` "container:" must name a container after "container:", like container:web',
        ],
        [
            checkNetworkMode("networkMode", "bad mode")!,
            '`networkMode` must be one of bridge, none, host, container:<name or id>, or a network name; got "bad mode"',
        ],
    ];
    cases.forEach(([actual, expected], i) => {
        it(`case ${i}: ${expected ?? "accepted"}`, () => assert.equal(actual, expected));
    });
});

describe("validation: IPv6 addresses, one rule for both families (exact messages)", () => {
    const cases: [string, string | undefined, string | undefined][] = [
        ["an IPv6 interface address", checkCidr("address", "fd17:ac11::3/64"), undefined],
        ["an IPv6 address written in capitals", checkCidr("address", "FD17:AC11::3/64"), undefined],
        ["a /128", checkCidr("address", "fd17:ac11::3/128"), undefined],
        ["a /127's all-zero address (RFC 6164)", checkCidr("address", "fd17:ac11::/127"), undefined],
        [
            "an IPv6 address without prefix length",
            checkCidr("address", "fd17:ac11::3"),
            '`address` must be an IPv6 address with its prefix length (1-128), like fd17:ac11::3/64; got "fd17:ac11::3"',
        ],
        [
            "a prefix length over 128",
            checkCidr("address", "fd17:ac11::3/129"),
            '`address` must be an IPv6 address with its prefix length (1-128), like fd17:ac11::3/64; got "fd17:ac11::3/129"',
        ],
        [
            "two ::",
            checkCidr("addresses[1]", "fd17::ac11::3/64"),
            '`addresses[1]` must be an IPv6 address with its prefix length (1-128), like fd17:ac11::3/64; got "fd17::ac11::3/64"',
        ],
        [
            "a zone index",
            checkCidr("address", "fe80::1%eth0/64"),
            '`address` must be an IPv6 address with its prefix length (1-128), like fd17:ac11::3/64; got "fe80::1%eth0/64"',
        ],
        [
            "the subnet-router anycast address",
            checkCidr("address", "fd17:ac11::/64"),
            '`address` "fd17:ac11::/64" is the network address of its subnet; choose a host address inside it, like fd17:ac11::3/64',
        ],
        [
            "a link-local address",
            checkCidr("address", "fe80::5/64"),
            '`address` "fe80::5/64" is a link-local address: the kernel gives every interface one by itself; choose a global or unique local address, like fd17:ac11::3/64',
        ],
        [
            "a multicast address",
            checkCidr("address", "ff02::5/64"),
            '`address` "ff02::5/64" is a multicast address, not an interface\'s own; choose a host address, like fd17:ac11::3/64',
        ],
        [
            "the loopback address",
            checkCidr("address", "::1/128"),
            '`address` "::1/128" is the loopback address, not an interface\'s own; choose a host address, like fd17:ac11::3/64',
        ],
        [
            "an IPv4-mapped address",
            checkCidr("address", "::ffff:10.0.0.1/96"),
            '`address` "::ffff:10.0.0.1/96" is an IPv4-mapped address (write the IPv4 address itself), not an interface\'s own; choose a host address, like fd17:ac11::3/64',
        ],
        [
            "an IPv4 loopback address",
            checkCidr("address", "127.0.0.5/8"),
            '`address` "127.0.0.5/8" is a loopback address, not an interface\'s own; choose a host address, like 172.17.0.3/16',
        ],
        [
            "IPv6 where only IPv4 is taken",
            checkCidr("address", "fd17:ac11::3/64", [4]),
            '`address` must be an IPv4 address with its prefix length (1-32), like 172.17.0.3/16; got "fd17:ac11::3/64"',
        ],
        ["an IPv6 gateway", checkIPv6("ipv6Gateway", "fd17:ac11::1"), undefined],
        ["a link-local IPv6 gateway", checkIPv6("ipv6Gateway", "fe80::1"), undefined],
        [
            "an IPv4 address as the IPv6 gateway",
            checkIPv6("ipv6Gateway", "172.17.0.1"),
            '`ipv6Gateway` must be an IPv6 address without a prefix length, like fd17:ac11::1; got "172.17.0.1"',
        ],
        [
            "an IPv6 address as the IPv4 gateway",
            checkIPv4("gateway", "fd17:ac11::1"),
            '`gateway` must be an IPv4 address without a prefix length, like 172.17.0.1; got "fd17:ac11::1"',
        ],
        ["either family, IPv6", checkAddress("a.underlay", "fd00:250::2"), undefined],
        ["either family, IPv4", checkAddress("a.underlay", "10.250.0.2"), undefined],
        [
            "either family, a bad IPv6",
            checkAddress("a.underlay", "fd00::250::2"),
            '`a.underlay` must be an IPv6 address without a prefix length, like fd17:ac11::1; got "fd00::250::2"',
        ],
        [
            "either family, a bad IPv4 keeps IPv4's message",
            checkAddress("a.underlay", "10.250.0"),
            '`a.underlay` must be an IPv4 address without a prefix length, like 172.17.0.1; got "10.250.0"',
        ],
        ["an IPv6 subnet", checkSubnet("ipv6Subnet", "fd17:10::/64", 6), undefined],
        [
            "an IPv6 subnet with host bits",
            checkSubnet("ipv6Subnet", "fd17:10::1/64", 6),
            '`ipv6Subnet` must be an IPv6 network with its prefix length (up to /126), host bits zero, like fd17:10::/64; got "fd17:10::1/64"',
        ],
        [
            "an IPv4 subnet as the IPv6 one",
            checkSubnet("ipv6Subnet", "10.10.0.0/24", 6),
            '`ipv6Subnet` must be an IPv6 network with its prefix length (up to /126), host bits zero, like fd17:10::/64; got "10.10.0.0/24"',
        ],
        [
            "an IPv6 subnet as the IPv4 one",
            checkSubnet("subnet", "fd17:10::/64"),
            '`subnet` must be an IPv4 network with its prefix length (up to /30), host bits zero, like 10.10.0.0/24; got "fd17:10::/64"',
        ],
        [
            "an IPv6 gateway outside the address's subnet",
            checkGatewayInSubnet("fd17:ad::1", "fd17:ac11::3/64", { gateway: "ipv6Gateway", address: "addresses[1]" }),
            "`ipv6Gateway` fd17:ad::1 is outside the subnet of `addresses[1]` fd17:ac11::3/64: the default route could not reach it; use an address in that subnet (usually the bridge's)",
        ],
        [
            "an IPv6 gateway that is the address itself",
            checkGatewayInSubnet("fd17:ac11::3", "fd17:ac11::3/64", { gateway: "ipv6Gateway", address: "addresses[1]" }),
            "`ipv6Gateway` fd17:ac11::3 is the attachment's own `addresses[1]`; use the bridge's address instead",
        ],
        ["a link-local IPv6 gateway, reachable on any link", checkGatewayInSubnet("fe80::1", "fd17:ac11::3/64"), undefined],
        [
            "a static IPv6 address outside the network's subnet",
            staticAddressFailure("ipv6Address", "fd17:11::5", 'Network "lab"', "fd17:10::/64"),
            '`ipv6Address` fd17:11::5 is outside Network "lab"\'s subnet fd17:10::/64; choose an address inside it',
        ],
        [
            "a static IPv6 address that is the network's default gateway (its first address)",
            staticAddressFailure("ipv6Address", "fd17:10::1", 'Network "lab"', "fd17:10::/64"),
            "`ipv6Address` fd17:10::1 is Network \"lab\"'s gateway (its bridge's address); choose another address in fd17:10::/64",
        ],
        [
            "a static IPv6 address that is the network's given gateway, written otherwise",
            staticAddressFailure("ipv6Address", "FD17:10::FE", 'Network "lab"', "fd17:10::/64", "fd17:10:0::fe"),
            "`ipv6Address` FD17:10::FE is Network \"lab\"'s gateway (its bridge's address); choose another address in fd17:10::/64",
        ],
        [
            "a static IPv6 address that is the network's all-zero address",
            staticAddressFailure("ipv6Address", "fd17:10::", 'Network "lab"', "fd17:10::/64"),
            '`ipv6Address` fd17:10:: is the network address of Network "lab"\'s subnet fd17:10::/64; choose a host address inside it',
        ],
        [
            "the last IPv6 address is a host's (no broadcast)",
            staticAddressFailure("ipv6Address", "fd17:10::ffff:ffff:ffff:ffff", "n", "fd17:10::/64"),
            undefined,
        ],
        [
            "an IPv4 address against an IPv6 subnet is left to the field's own check",
            staticAddressFailure("ipv6Address", "10.0.0.5", "n", "fd17:10::/64"),
            undefined,
        ],
    ];
    for (const [title, actual, expected] of cases) {
        it(`${title}: ${expected === undefined ? "accepted" : "refused"}`, () => assert.equal(actual, expected));
    }
});

describe("validation: VethAttachment inputs as `check` sees them", () => {
    it("accepts a complete, valid set", () => {
        assert.deepEqual(checkVethAttachmentInputs({ ...good, gateway: "172.17.0.1", mtu: 1400, mac: "02:00:00:00:00:01" }), []);
    });

    it("reports every bad field at once, each by name", () => {
        const failures = checkVethAttachmentInputs({ ...good, address: "nope", hostIfName: "this-name-is-too-long", mtu: 10 });
        assert.deepEqual(
            failures.map((f) => f.property),
            ["address", "hostIfName", "mtu"],
        );
    });

    it("requires container, bridge and address", () => {
        const failures = checkVethAttachmentInputs({ containerIfName: "eth0", hostIfName: "x" });
        assert.deepEqual(failures, [
            { property: "container", reason: "`container` is required" },
            { property: "bridge", reason: "`bridge` is required" },
            { property: "address", reason: "`address` is required (or `addresses`, a list of IPv4 and IPv6 addresses)" },
        ]);
    });

    it("refuses a gateway outside the address's subnet", () => {
        const failures = checkVethAttachmentInputs({ ...good, gateway: "10.9.9.1" });
        assert.deepEqual(
            failures.map((f) => f.property),
            ["gateway"],
        );
    });
});

describe("validation: DockerContainer inputs as `check` sees them", () => {
    it("accepts a valid set", () => {
        assert.deepEqual(
            checkDockerContainerInputs({
                name: "hn-dev-seed",
                image: "hostnet/busybox:1",
                command: ["sleep", "1"],
                networkMode: "none",
                labels: {},
            }),
            [],
        );
    });

    it("names each bad field", () => {
        const failures = checkDockerContainerInputs({
            name: "bad name",
            image: "hostnet/busybox:1",
            command: "sleep 1",
            networkMode: "none",
        });
        assert.deepEqual(
            failures.map((f) => f.property),
            ["name", "command"],
        );
    });
});

describe("validation: ports, restart policies, endpoints", () => {
    it("parses published ports as docker run -p does", () => {
        assert.deepEqual(parsePortSpec("8080:80"), { hostIp: "0.0.0.0", hostPort: 8080, containerPort: 80, protocol: "tcp" });
        assert.deepEqual(parsePortSpec("127.0.0.1:53:53/udp"), { hostIp: "127.0.0.1", hostPort: 53, containerPort: 53, protocol: "udp" });
        for (const bad of ["80", "0:80", "8080:70000", "300.0.0.1:80:80", "8080:80/icmp", ":80:80"]) {
            assert.equal(parsePortSpec(bad), undefined, bad);
        }
    });

    it("names the bad port entry and the accepted shape", () => {
        assert.equal(
            checkPorts("ports", ["8080:80", "80"]),
            '`ports` entry "80" must read [host_ip:]host_port:container_port[/tcp|udp|sctp], like 127.0.0.1:8080:80/tcp (ports 1-65535)',
        );
        assert.equal(checkPorts("ports", ["8080:80", "0.0.0.0:8080:81"]), "`ports` publishes 0.0.0.0:8080/tcp twice");
    });

    it("accepts Docker's restart policies only", () => {
        for (const ok of ["no", "always", "unless-stopped", "on-failure", "on-failure:3"])
            assert.equal(checkRestartPolicy("restartPolicy", ok), undefined);
        assert.equal(
            checkRestartPolicy("restartPolicy", "sometimes"),
            '`restartPolicy` must be one of no, always, unless-stopped, on-failure or on-failure:<max retries>; got "sometimes"',
        );
    });

    it("checks endpoints on user-defined networks, field by field", () => {
        assert.equal(checkEndpoints("networks", [{ network: "lab", ipv4Address: "10.0.0.5", aliases: ["api"] }]), undefined);
        assert.equal(
            checkEndpoints("networks", [{ network: "host" }]),
            '`networks[0].network` must name a user-defined network (not bridge, host, none or container:); got "host"',
        );
        assert.equal(
            checkEndpoints("networks", [{ network: "lab", ipv4Address: "10.0.0.5/24" }]),
            '`networks[0].ipv4Address` must be an IPv4 address without a prefix length, like 172.17.0.1; got "10.0.0.5/24"',
        );
        assert.equal(checkEndpoints("networks", [{ network: "lab" }, { network: "lab" }]), '`networks[1].network` "lab" is listed twice');
    });

    it("skips values the preview does not know yet, checks them once known", () => {
        assert.deepEqual(checkVethAttachmentInputs({ ...good, container: UNKNOWN, address: UNKNOWN, gateway: "172.17.0.1" }), []);
        assert.deepEqual(
            checkDockerContainerInputs({ name: "a", image: "hostnet/busybox:1", networkMode: UNKNOWN, ports: ["8080:80"] }),
            [],
        );
        assert.deepEqual(
            checkVethLinkInputs({ a: { container: UNKNOWN, ifName: "eth1" }, b: { container: UNKNOWN, ifName: "eth1" }, mtu: UNKNOWN }),
            [],
        );
    });
});

describe("validation: which options a network mode refuses", () => {
    const base = { name: "web", image: "hostnet/busybox:1", labels: {} };

    it("refuses ports with host and container: modes, naming why", () => {
        assert.deepEqual(checkDockerContainerInputs({ ...base, networkMode: "host", ports: ["8080:80"] }), [
            {
                property: "ports",
                reason: "`ports` cannot be published with network mode host: the container uses the host's ports directly; remove `ports`",
            },
        ]);
        assert.deepEqual(checkDockerContainerInputs({ ...base, networkMode: "container:db", ports: ["8080:80"] }), [
            {
                property: "ports",
                reason: "`ports` cannot be published with network mode container:db: it shares another container's network namespace; publish the ports on that container; remove `ports`",
            },
        ]);
    });

    it("refuses user-defined endpoints unless the mode is a user-defined network, listed first", () => {
        assert.deepEqual(
            checkDockerContainerInputs({ ...base, networkMode: "bridge", networks: [{ network: "lab" }] }).map((f) => f.reason),
            [
                "`networks` needs a user-defined network as the network mode; with bridge the container cannot join other networks here; use a user-defined network mode",
            ],
        );
        assert.deepEqual(
            checkDockerContainerInputs({ ...base, networkMode: "lab", networks: [{ network: "other" }] }).map((f) => f.reason),
            ['`networks[0].network` must be the network mode\'s network "lab"'],
        );
    });
});

describe("validation: Network, Bridge and VethLink inputs", () => {
    const net = { name: "lab", internal: false, icc: true, masquerade: true, labels: {} };

    it("Network: subnet, gateway and range must agree", () => {
        assert.deepEqual(checkNetworkInputs({ ...net, subnet: "10.10.0.0/24", gateway: "10.10.0.1", ipRange: "10.10.0.128/25" }), []);
        assert.deepEqual(
            checkNetworkInputs({ ...net, subnet: "10.10.0.1/24" }).map((f) => f.reason),
            ['`subnet` must be an IPv4 network with its prefix length (up to /30), host bits zero, like 10.10.0.0/24; got "10.10.0.1/24"'],
        );
        assert.deepEqual(
            checkNetworkInputs({ ...net, subnet: "10.10.0.0/24", gateway: "10.11.0.1" }).map((f) => f.reason),
            ["`gateway` 10.11.0.1 is outside `subnet` 10.10.0.0/24"],
        );
        assert.deepEqual(
            checkNetworkInputs({ ...net, gateway: "10.11.0.1" }).map((f) => f.reason),
            ["`gateway` needs `subnet`: set the subnet they belong to"],
        );
        assert.deepEqual(
            checkNetworkInputs({ ...net, subnet: "10.10.0.0/24", ipRange: "10.10.1.0/25" }).map((f) => f.reason),
            ["`ipRange` 10.10.1.0/25 must lie inside `subnet` 10.10.0.0/24"],
        );
        assert.deepEqual(
            checkNetworkInputs({ ...net, bridgeName: "much-too-long-bridge" }).map((f) => f.property),
            ["bridgeName"],
        );
    });

    it("Bridge: each address is checked by position", () => {
        assert.deepEqual(
            checkBridgeInputs({ name: "br0", addresses: ["10.0.0.1/24", "10.0.1.0/24"] }).map((f) => f.reason),
            ['`addresses[1]` "10.0.1.0/24" is the network address of its subnet; choose a host address inside it, like 172.17.0.3/16'],
        );
    });

    it("Bridge: `forward` is a boolean, and refused when the owner mark would not fit in the rule's comment", () => {
        assert.deepEqual(
            checkBridgeInputs({ name: "br0", forward: "yes" }).map((f) => f.property),
            ["forward"],
        );
        const fits = `hostnet/p/s/Bridge/${"n".repeat(255 - "hostnet/p/s/Bridge/".length)}`;
        assert.deepEqual(checkBridgeInputs({ name: "br0", forward: true, owner: fits }), []);
        assert.deepEqual(checkBridgeInputs({ name: "br0", forward: false, owner: `${fits}x` }), []);
        assert.deepEqual(
            checkBridgeInputs({ name: "br0", forward: true, owner: `${fits}x` }).map((f) => [
                f.property,
                f.reason.replace(/"[^"]*"/, "MARK"),
            ]),
            [
                [
                    "forward",
                    "`forward`: the bridge's firewall rule carries the owner mark MARK as its comment, and iptables keeps at most 255 characters of it (this one has 256); give the resource (or the stack) a shorter name, or set `forward: false`",
                ],
            ],
        );
    });

    it("VethLink: both ends named per side; one container cannot be linked to itself", () => {
        const end = { container: "a", ifName: "eth1" };
        assert.deepEqual(checkVethLinkInputs({ a: end, b: { container: "b", ifName: "eth1" } }), []);
        assert.deepEqual(
            checkVethLinkInputs({ a: { container: "a" }, b: { container: "b", ifName: "x".repeat(16), address: "1.2.3.4" } }).map(
                (f) => f.reason,
            ),
            [
                "`a.ifName` is required",
                '`b.ifName` must be at most 15 characters (the kernel\'s limit on interface names); "xxxxxxxxxxxxxxxx" has 16',
                '`b.address` must be an IPv4 address with its prefix length (1-32), like 172.17.0.3/16; got "1.2.3.4"',
            ],
        );
        assert.deepEqual(
            checkVethLinkInputs({ a: end, b: end }).map((f) => f.reason),
            ["`a.container` and `b.container` are the same container: a link joins two namespaces"],
        );
    });
});

describe("validation: MacvlanAttachment inputs, and Network drivers macvlan and ipvlan", () => {
    const mv = {
        container: "hn-dev-probe",
        parent: "eth0",
        kind: "macvlan",
        mode: "bridge",
        addresses: ["192.168.1.50/24"],
        containerIfName: "eth0",
        owner: "hostnet/p/s/MacvlanAttachment/probe",
    };
    const reasons = (over: Record<string, unknown>) => checkMacvlanAttachmentInputs({ ...mv, ...over }).map((f) => [f.property, f.reason]);

    it("accepts a macvlan with an address, a gateway on its subnet, an MTU and a MAC; an ipvlan in l3; no addresses at all", () => {
        assert.deepEqual(reasons({ gateway: "192.168.1.1", mtu: 1400, mac: "02:00:00:00:00:01" }), []);
        assert.deepEqual(reasons({ kind: "ipvlan", mode: "l3" }), []);
        assert.deepEqual(reasons({ addresses: [] }), []);
        assert.deepEqual(reasons({ addresses: ["192.168.1.50/24", "10.0.0.5/8"], gateway: "10.0.0.1" }), []);
    });

    it("ipv6Gateway: IPv6, beside an IPv6 address; on its subnet or link-local (a router's, as its advertisements name it); not the attachment's own, nor the subnet's network address", () => {
        const dual = ["192.168.1.50/24", "fd00:1::50/64"];
        assert.deepEqual(reasons({ addresses: dual, ipv6Gateway: "fd00:1::1" }), []);
        assert.deepEqual(reasons({ addresses: dual, ipv6Gateway: "fe80::1", gateway: "192.168.1.1" }), []);
        assert.deepEqual(reasons({ ipv6Gateway: "fd00:1::1" }), [
            [
                "ipv6Gateway",
                "`ipv6Gateway` needs an IPv6 address in `addresses`: the default route must reach it; add one, or drop `ipv6Gateway`",
            ],
        ]);
        assert.deepEqual(reasons({ addresses: dual, ipv6Gateway: "192.168.1.1" }), [
            ["ipv6Gateway", '`ipv6Gateway` must be an IPv6 address without a prefix length, like fd17:ac11::1; got "192.168.1.1"'],
        ]);
        assert.deepEqual(reasons({ addresses: dual, ipv6Gateway: "fd00:2::1" }), [
            [
                "ipv6Gateway",
                "`ipv6Gateway` fd00:2::1 is outside the subnets of `addresses` (fd00:1::50/64): the default route could not reach it; use the LAN router's address on one of them (or its link-local one, fe80::...)",
            ],
        ]);
        assert.deepEqual(reasons({ addresses: dual, ipv6Gateway: "FD00:1::50" }), [
            ["ipv6Gateway", "`ipv6Gateway` FD00:1::50 is one of this attachment's own `addresses`; use the LAN router's address"],
        ]);
        assert.deepEqual(reasons({ addresses: dual, ipv6Gateway: "fd00:1::" }), [
            [
                "ipv6Gateway",
                "`ipv6Gateway` fd00:1:: is the network address of the subnet of `addresses[1]` fd00:1::50/64, not a router's; use the router's address in that subnet (the LAN router's)",
            ],
        ]);
    });

    it("kind and mode: only the kernel's and Docker's, each kind its own modes", () => {
        assert.deepEqual(reasons({ kind: "tap" }), [["kind", '`kind` must be macvlan or ipvlan; got "tap"']]);
        assert.deepEqual(reasons({ mode: "source" }), [
            ["mode", '`mode` must be one of bridge, private, vepa, passthru for a macvlan (`kind`); got "source"'],
        ]);
        assert.deepEqual(reasons({ kind: "ipvlan", mode: "bridge" }), [
            ["mode", '`mode` must be one of l2, l3, l3s for an ipvlan (`kind`); got "bridge"'],
        ]);
        assert.deepEqual(reasons({ mode: undefined }), [["mode", "`mode` is required"]]);
    });

    it("a MAC on an ipvlan or a passthru macvlan is refused, saying why", () => {
        assert.deepEqual(reasons({ kind: "ipvlan", mode: "l2", mac: "02:00:00:00:00:01" }), [
            [
                "mac",
                "`mac` cannot be set on an ipvlan: it has its parent's MAC (that is what ipvlan is); remove `mac`, or use kind macvlan",
            ],
        ]);
        assert.deepEqual(reasons({ mode: "passthru", mac: "02:00:00:00:00:01" }), [
            [
                "mac",
                "`mac` cannot be set on a passthru macvlan: it takes its parent's MAC, and setting one would change the parent's; remove `mac`",
            ],
        ]);
    });

    it("addresses: each with its prefix, none twice; the gateway on one of their subnets, not one of them", () => {
        assert.deepEqual(reasons({ addresses: ["192.168.1.50"] }), [
            ["addresses", '`addresses[0]` must be an IPv4 address with its prefix length (1-32), like 172.17.0.3/16; got "192.168.1.50"'],
        ]);
        assert.deepEqual(reasons({ addresses: ["192.168.1.50/24", "192.168.1.50/16"] }), [
            ["addresses", "`addresses` lists 192.168.1.50 twice (`addresses[0]` and `addresses[1]`); give each address once"],
        ]);
        // Dual-stack: IPv6 beside IPv4, each once in any spelling; the default gateway is IPv4's.
        assert.deepEqual(reasons({ addresses: ["192.168.1.50/24", "fd00:1::50/64"] }), []);
        assert.deepEqual(reasons({ addresses: ["fd00:1::50/64", "FD00:1:0::50/64"] }), [
            ["addresses", "`addresses` lists fd00:1::50 twice (`addresses[0]` and `addresses[1]`); give each address once"],
        ]);
        assert.deepEqual(reasons({ addresses: ["fd00:1::50/64"], gateway: "192.168.1.1" }), [
            [
                "gateway",
                "`gateway` needs an IPv4 address on its subnet in `addresses`: the default route must reach it; add one, or drop `gateway`",
            ],
        ]);
        assert.deepEqual(reasons({ gateway: "fd00:1::1" }), [
            ["gateway", '`gateway` must be an IPv4 address without a prefix length, like 172.17.0.1; got "fd00:1::1"'],
        ]);
        assert.deepEqual(reasons({ gateway: "10.9.9.9" }), [
            [
                "gateway",
                "`gateway` 10.9.9.9 is outside the subnets of `addresses` (192.168.1.50/24): the default route could not reach it; use the LAN router's address on one of them",
            ],
        ]);
        assert.deepEqual(reasons({ gateway: "192.168.1.50" }), [
            ["gateway", "`gateway` 192.168.1.50 is one of this attachment's own `addresses`; use the LAN router's address"],
        ]);
        assert.deepEqual(reasons({ addresses: [], gateway: "192.168.1.1" }), [
            [
                "gateway",
                "`gateway` needs an IPv4 address on its subnet in `addresses`: the default route must reach it; add one, or drop `gateway`",
            ],
        ]);
    });

    const net = { name: "hn-dev-lan", internal: false, icc: true, masquerade: true, labels: {}, owner: "hostnet/p/s/Network/lan" };
    const netReasons = (over: Record<string, unknown>) => checkNetworkInputs({ ...net, ...over }).map((f) => [f.property, f.reason]);

    it("Network: macvlan and ipvlan take a parent and a mode of their own, and none of the bridge's options", () => {
        assert.deepEqual(netReasons({ driver: "macvlan", parent: "eth0", mode: "private", subnet: "192.168.1.0/24" }), []);
        assert.deepEqual(netReasons({ driver: "vlan" }), [["driver", '`driver` must be bridge, macvlan, ipvlan or overlay; got "vlan"']]);
        // An overlay is a driver too (specs/overlayNetwork.ts): it needs its swarm, not a parent.
        assert.deepEqual(netReasons({ driver: "overlay" }), [
            ["swarm", "`swarm` is required with driver overlay: the Swarm whose nodes the network spans"],
        ]);
        assert.deepEqual(netReasons({ driver: "overlay", swarm: { clusterId: "x", nodes: [] }, parent: "eth0" }), [
            ["parent", "`parent` is an option of drivers macvlan and ipvlan; set `driver`, or remove `parent`"],
        ]);
        assert.deepEqual(netReasons({ driver: "macvlan", parent: "eth0", attachable: true }), [
            [
                "attachable",
                "`attachable` is an option of driver overlay (a network across the hosts of a Swarm); this network's driver is macvlan; remove `attachable`, or make the network an overlay (give `swarm`)",
            ],
        ]);
        assert.deepEqual(netReasons({ driver: "ipvlan", parent: "eth0", mode: "vepa" }), [
            ["mode", '`mode` must be one of l2, l3, l3s for an ipvlan (`driver`); got "vepa"'],
        ]);
        assert.deepEqual(netReasons({ driver: "macvlan", parent: "eth0", mode: "bridge", bridgeName: "br9", mtu: 9000 }), [
            ["bridgeName", "`bridgeName` is an option of driver bridge; a macvlan network takes none: it has no Linux bridge; remove it"],
            [
                "mtu",
                "`mtu` is an option of driver bridge; a macvlan network takes none: its containers' links take the parent's MTU (set that); remove it",
            ],
        ]);
        assert.deepEqual(netReasons({ driver: "macvlan", parent: "eth0", mode: "bridge", icc: false }), [
            [
                "icc",
                '`icc` is an option of driver bridge; to keep the containers of a macvlan network from reaching each other, use `mode: "private"` and remove `icc`',
            ],
        ]);
        assert.deepEqual(netReasons({ parent: "eth0" }), [
            ["parent", "`parent` is an option of drivers macvlan and ipvlan; set `driver`, or remove `parent`"],
        ]);
    });
});

describe("validation: the preview's blind spots (issue 18), one rule each", () => {
    const veth = (over: Record<string, unknown>) => checkVethAttachmentInputs({ ...good, ...over }).map((f) => [f.property, f.reason]);

    it("a gateway that is the network or broadcast address of the attachment's subnet, IPv4 and IPv6", () => {
        assert.deepEqual(veth({ address: "10.77.1.5/24", gateway: "10.77.1.0" }), [
            [
                "gateway",
                "`gateway` 10.77.1.0 is the network address of the subnet of `address` 10.77.1.5/24, not a router's; use the router's address in that subnet (usually the bridge's)",
            ],
        ]);
        assert.deepEqual(veth({ address: "10.77.1.5/24", gateway: "10.77.1.255" }), [
            [
                "gateway",
                "`gateway` 10.77.1.255 is the broadcast address of the subnet of `address` 10.77.1.5/24, not a router's; use the router's address in that subnet (usually the bridge's)",
            ],
        ]);
        assert.deepEqual(veth({ address: undefined, addresses: ["10.77.1.5/24", "fd17:77::5/64"], ipv6Gateway: "FD17:77:0::" }), [
            [
                "ipv6Gateway",
                "`ipv6Gateway` FD17:77:0:: is the network address of the subnet of `addresses[1]` fd17:77::5/64, not a router's; use the router's address in that subnet (usually the bridge's)",
            ],
        ]);
        // IPv6 has no broadcast address: its all-ones host part is a host's; in a /31 every address is a host's.
        assert.deepEqual(veth({ address: undefined, addresses: ["fd17:77::5/64"], ipv6Gateway: "fd17:77::ffff:ffff:ffff:ffff" }), []);
        assert.deepEqual(veth({ address: "10.77.1.5/31", gateway: "10.77.1.4" }), []);
        assert.deepEqual(veth({ address: "10.77.1.5/24", gateway: "10.77.1.1" }), []);
    });

    it("MacvlanAttachment: the same gateway rule", () => {
        const mv = {
            container: "hn-dev-probe",
            parent: "eth0",
            kind: "macvlan",
            mode: "bridge",
            addresses: ["fd00:1::50/64", "192.168.1.50/24"],
            containerIfName: "eth0",
            owner: "hostnet/p/s/MacvlanAttachment/probe",
        };
        assert.deepEqual(
            checkMacvlanAttachmentInputs({ ...mv, gateway: "192.168.1.0" }).map((f) => f.reason),
            [
                "`gateway` 192.168.1.0 is the network address of the subnet of `addresses[1]` 192.168.1.50/24, not a router's; use the router's address in that subnet (the LAN router's)",
            ],
        );
    });

    it("a container: network mode that names the container itself", () => {
        const failures = checkDockerContainerInputs({
            name: "hn-web",
            image: "hostnet/busybox:1",
            networkMode: "container:hn-web",
            ports: ["8080:80"],
            labels: {},
        });
        assert.deepEqual(failures, [
            {
                property: "networkMode",
                reason: '`networkMode` "container:hn-web" names this container itself: a container cannot share its own network namespace; name another container, or use another network mode',
            },
        ]);
        assert.deepEqual(
            checkDockerContainerInputs({ name: "hn-web", image: "hostnet/busybox:1", networkMode: "container:hn-db", labels: {} }),
            [],
        );
    });

    it("a Bridge address given twice, also in two IPv6 spellings or two prefix lengths", () => {
        const reasons = (addresses: string[]) => checkBridgeInputs({ name: "hnbr0", addresses, up: true, owner: "o" }).map((f) => f.reason);
        assert.deepEqual(reasons(["10.77.1.1/24", "10.77.1.1/24"]), [
            "`addresses` lists 10.77.1.1 twice (`addresses[0]` and `addresses[1]`); give each address once",
        ]);
        assert.deepEqual(reasons(["10.77.1.1/24", "fd17::3/64", "FD17:0::3/64"]), [
            "`addresses` lists fd17::3 twice (`addresses[1]` and `addresses[2]`); give each address once",
        ]);
        assert.deepEqual(reasons(["10.77.1.1/24", "10.77.1.1/16"]), [
            "`addresses` lists 10.77.1.1 twice (`addresses[0]` and `addresses[1]`); give each address once",
        ]);
    });

    it("a static address against a network's subnet: outside it, its network address, its gateway (IPv4 and IPv6)", () => {
        assert.equal(
            staticAddressFailure("ipv4Address", "10.99.0.5", "network lab", "10.77.1.0/24"),
            "`ipv4Address` 10.99.0.5 is outside network lab's subnet 10.77.1.0/24; choose an address inside it",
        );
        assert.equal(
            staticAddressFailure("ipv6Address", "fd17:99::5", "network lab", "fd17:77::/64"),
            "`ipv6Address` fd17:99::5 is outside network lab's subnet fd17:77::/64; choose an address inside it",
        );
        assert.equal(staticAddressFailure("ipv6Address", "fd17:77::5", "network lab", "fd17:77::/64"), undefined);
    });
});
