import * as assert from "node:assert/strict";
import { checkVethAttachmentInputs } from "../../components/providers/vethAttachment";
import { checkDockerContainerInputs } from "../../components/providers/dockerContainer";
import {
    checkCidr,
    checkContainerRef,
    checkGatewayInSubnet,
    checkIfName,
    checkImage,
    checkIPv4,
    checkLabels,
    checkMac,
    checkMtu,
    checkNetworkMode,
} from "../../components/validation";

const good = {
    container: "hn-dev-seed",
    bridge: "docker0",
    address: "172.17.0.3/16",
    containerIfName: "eth0",
    hostIfName: "hn-seed-1a2b3c",
    owner: "hostnet/p/s/seed",
};

describe("validation: single fields (exact messages)", () => {
    const cases: [string, string | undefined][] = [
        [checkIfName("hostIfName", "eth0")!, undefined],
        [checkIfName("hostIfName", "a23456789012345")!, undefined],
        [checkIfName("hostIfName", "a234567890123456")!, '`hostIfName` must be at most 15 characters (the kernel\'s limit on interface names); "a234567890123456" has 16'],
        [checkIfName("bridge", "br 0")!, "`bridge` may hold only letters, digits, '_', '.' and '-', starting with a letter or digit; got \"br 0\""],
        [checkIfName("bridge", "../x")!, "`bridge` may hold only letters, digits, '_', '.' and '-', starting with a letter or digit; got \"../x\""],
        [checkIfName("bridge", "")!, "`bridge` must be an interface name (a non-empty string); got \"\""],
        [checkCidr("address", "172.17.0.3/16")!, undefined],
        [checkCidr("address", "10.0.0.1/32")!, undefined],
        [checkCidr("address", "172.17.0.3")!, "`address` must be an IPv4 address with its prefix length (1-32), like 172.17.0.3/16; got \"172.17.0.3\""],
        [checkCidr("address", "172.17.0.300/16")!, "`address` must be an IPv4 address with its prefix length (1-32), like 172.17.0.3/16; got \"172.17.0.300/16\""],
        [checkCidr("address", "172.17.0.3/33")!, "`address` must be an IPv4 address with its prefix length (1-32), like 172.17.0.3/16; got \"172.17.0.3/33\""],
        [checkCidr("address", "172.17.0.0/16")!, "`address` \"172.17.0.0/16\" is the network address of its subnet; choose a host address inside it, like 172.17.0.3/16"],
        [checkCidr("address", "172.17.255.255/16")!, "`address` \"172.17.255.255/16\" is the broadcast address of its subnet; choose a host address inside it, like 172.17.0.3/16"],
        [checkCidr("address", 3)!, "`address` must be an IPv4 address with its prefix length, like 172.17.0.3/16; got 3"],
        [checkIPv4("gateway", "172.17.0.1")!, undefined],
        [checkIPv4("gateway", "172.17.0.01")!, "`gateway` must be an IPv4 address without a prefix length, like 172.17.0.1; got \"172.17.0.01\""],
        [checkIPv4("gateway", "172.17.0.1/16")!, "`gateway` must be an IPv4 address without a prefix length, like 172.17.0.1; got \"172.17.0.1/16\""],
        [checkGatewayInSubnet("10.0.0.1", "172.17.0.3/16")!, "`gateway` 10.0.0.1 is outside the subnet of `address` 172.17.0.3/16: the default route could not reach it; use an address in that subnet (usually the bridge's)"],
        [checkGatewayInSubnet("172.17.0.3", "172.17.0.3/16")!, "`gateway` 172.17.0.3 is the attachment's own `address`; use the bridge's address instead"],
        [checkGatewayInSubnet("172.17.200.1", "172.17.0.3/16")!, undefined],
        [checkMtu("mtu", 1500)!, undefined],
        [checkMtu("mtu", 67)!, "`mtu` must be an integer from 68 to 65535 (bytes); got 67"],
        [checkMtu("mtu", 1500.5)!, "`mtu` must be an integer from 68 to 65535 (bytes); got 1500.5"],
        [checkMac("mac", "02:42:ac:11:00:03")!, undefined],
        [checkMac("mac", "02:42:ac:11:00")!, "`mac` must be a MAC address like 02:42:ac:11:00:03; got \"02:42:ac:11:00\""],
        [checkMac("mac", "01:00:5e:00:00:01")!, "`mac` \"01:00:5e:00:00:01\" is a multicast address (lowest bit of the first byte set); use a unicast one such as 02:..."],
        [checkContainerRef("container", "web-1")!, undefined],
        [checkContainerRef("container", "-web")!, "`container` must be a container name or id (letters, digits, '_', '.', '-'); got \"-web\""],
        [checkImage("image", "hostnet/busybox:1")!, undefined],
        [checkImage("image", "Busybox")!, "`image` must be an image reference like hostnet/busybox:1 (lower-case repository, optional tag); got \"Busybox\""],
        [checkLabels("labels", { team: "net" })!, undefined],
        [checkLabels("labels", { "io.hostnet.owner": "me" })!, "`labels` may not set \"io.hostnet.owner\": labels under io.hostnet. (such as io.hostnet.owner) are the library's ownership marks"],
        [checkNetworkMode("networkMode", "none")!, undefined],
        [checkNetworkMode("networkMode", "container:web")!, undefined],
        [checkNetworkMode("networkMode", "container:")!, "`networkMode` \"container:\" must name a container after \"container:\", like container:web"],
        [checkNetworkMode("networkMode", "bad mode")!, "`networkMode` must be one of bridge, none, host, container:<name or id>, or a network name; got \"bad mode\""],
    ];
    cases.forEach(([actual, expected], i) => {
        it(`case ${i}: ${expected ?? "accepted"}`, () => assert.equal(actual, expected));
    });
});

describe("validation: VethAttachment inputs as `check` sees them", () => {
    it("accepts a complete, valid set", () => {
        assert.deepEqual(checkVethAttachmentInputs({ ...good, gateway: "172.17.0.1", mtu: 1400, mac: "02:00:00:00:00:01" }), []);
    });

    it("reports every bad field at once, each by name", () => {
        const failures = checkVethAttachmentInputs({ ...good, address: "nope", hostIfName: "this-name-is-too-long", mtu: 10 });
        assert.deepEqual(failures.map((f) => f.property), ["address", "hostIfName", "mtu"]);
    });

    it("requires container, bridge and address", () => {
        const failures = checkVethAttachmentInputs({ containerIfName: "eth0", hostIfName: "x" });
        assert.deepEqual(failures, [
            { property: "container", reason: "`container` is required" },
            { property: "bridge", reason: "`bridge` is required" },
            { property: "address", reason: "`address` is required" },
        ]);
    });

    it("refuses a gateway outside the address's subnet", () => {
        const failures = checkVethAttachmentInputs({ ...good, gateway: "10.9.9.1" });
        assert.deepEqual(failures.map((f) => f.property), ["gateway"]);
    });
});

describe("validation: DockerContainer inputs as `check` sees them", () => {
    it("accepts a valid set", () => {
        assert.deepEqual(checkDockerContainerInputs({ name: "hn-dev-seed", image: "hostnet/busybox:1", command: ["sleep", "1"], networkMode: "none", labels: {} }), []);
    });

    it("names each bad field", () => {
        const failures = checkDockerContainerInputs({ name: "bad name", image: "hostnet/busybox:1", command: "sleep 1", networkMode: "none" });
        assert.deepEqual(failures.map((f) => f.property), ["name", "command"]);
    });
});
