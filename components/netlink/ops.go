package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// Op is one operation. Each kind reads the fields it names
// (components/src/host/ip.ts builds them; one builder per kind).
type Op struct {
	Op string `json:"op"`
	// The link the operation is about.
	Name string `json:"name,omitempty"`
	// linkGet, linkList: with each link's addresses (as `ip -j addr show`).
	Addrs bool `json:"addrs,omitempty"`
	// linkSet: a new name for the link (it must be down).
	NewName string `json:"newName,omitempty"`
	// Link settings (vethAdd, bridgeAdd, vxlanAdd, sublinkAdd, linkSet).
	MTU    int     `json:"mtu,omitempty"`
	MAC    string  `json:"mac,omitempty"`
	Master *string `json:"master,omitempty"`
	Alias  *string `json:"alias,omitempty"`
	Up     *bool   `json:"up,omitempty"`
	// vethAdd: the other end, created in the namespace of Peer.PID (0: this one).
	Peer *End `json:"peer,omitempty"`
	// sublinkAdd: the kind (macvlan, ipvlan), its mode, and the parent (lower) device in this namespace;
	// the new link is made in the namespace of PID (0: this one).
	Kind   string `json:"kind,omitempty"`
	Mode   string `json:"mode,omitempty"`
	Parent string `json:"parent,omitempty"`
	// bridgeSet.
	STP           *bool `json:"stp,omitempty"`
	VlanFiltering *bool `json:"vlanFiltering,omitempty"`
	// vxlanAdd, vxlanSetPeers.
	VNI    int    `json:"vni,omitempty"`
	Port   int    `json:"port,omitempty"`
	Local  string `json:"local,omitempty"`
	Remote string `json:"remote,omitempty"`
	// addrAdd, addrDel: an address with its prefix length, IPv4 or IPv6.
	CIDR string `json:"cidr,omitempty"`
	// routeAddDefault: the gateway (its family is the route's); routeDelDefault, routeList: 4 or 6.
	Gateway string `json:"gateway,omitempty"`
	Family  int    `json:"family,omitempty"`
	// routeGet: the destination.
	Address string `json:"address,omitempty"`
	// addrSettle: how long to wait for duplicate address detection.
	TimeoutMs int `json:"timeoutMs,omitempty"`
	// netnsOf: the process.
	PID int `json:"pid,omitempty"`
	// exec: a program and its arguments (no shell), and its standard input.
	Argv  []string `json:"argv,omitempty"`
	Input *string  `json:"input,omitempty"`
}

// End is the peer of a veth pair.
type End struct {
	Name string `json:"name"`
	MTU  int    `json:"mtu,omitempty"`
	MAC  string `json:"mac,omitempty"`
	PID  int    `json:"pid,omitempty"`
}

// Usage is an operation the helper cannot read: a bug in the engine, not a host failure.
type Usage string

func (u Usage) Error() string { return string(u) }

func run(op Op) (any, error) {
	switch op.Op {
	case "linkGet":
		return linkGet(op.Name, op.Addrs)
	case "linkList":
		return linkList(op.Addrs)
	case "routeList":
		return defaultRoutes(op.Family)
	case "routeGet":
		return routeGet(op.Address)
	case "vethAdd":
		return nil, vethAdd(op)
	case "bridgeAdd":
		return nil, bridgeAdd(op)
	case "ifbAdd":
		return nil, ifbAdd(op)
	case "vxlanAdd":
		return nil, vxlanAdd(op)
	case "sublinkAdd":
		return nil, sublinkAdd(op)
	case "vxlanSetPeers":
		return nil, vxlanSetPeers(op)
	case "linkSet":
		return nil, linkSet(op)
	case "bridgeSet":
		return nil, bridgeSet(op)
	case "linkDel":
		return nil, linkDel(op.Name)
	case "addrAdd", "addrDel":
		return nil, addr(op.Op == "addrAdd", op.Name, op.CIDR)
	case "routeAddDefault":
		return nil, routeAddDefault(op.Name, op.Gateway)
	case "routeDelDefault":
		return nil, routeDelDefault(op.Name, op.Family)
	case "addrSettle":
		return nil, addrSettle(op.Name, time.Duration(op.TimeoutMs)*time.Millisecond)
	case "ipv6Enable":
		return nil, ipv6Enable(op.Name)
	case "netnsOf":
		return netnsOf(op.PID)
	case "exec":
		return execute(op.Argv, op.Input)
	}
	return nil, Usage(fmt.Sprintf("unknown operation %q", op.Op))
}

func linkByName(name string) (netlink.Link, error) {
	if name == "" {
		return nil, Usage("no link name")
	}
	link, err := netlink.LinkByName(name)
	var notFound netlink.LinkNotFoundError
	if errors.As(err, &notFound) {
		return nil, noDevice(name)
	}
	return link, err
}

// noDevice is a link name that names no link: ENODEV, in iproute2's words.
type noDevice string

func (n noDevice) Error() string { return fmt.Sprintf("Cannot find device %q", string(n)) }
func (n noDevice) Unwrap() error { return unix.ENODEV }

func mac(text string) (net.HardwareAddr, error) {
	if text == "" {
		return nil, nil
	}
	hw, err := net.ParseMAC(text)
	if err != nil || len(hw) != 6 {
		return nil, fmt.Errorf("%q is invalid lladdr: %w", text, unix.EINVAL)
	}
	return hw, nil
}

func linkAttrs(name string, mtu int, hw string) (netlink.LinkAttrs, error) {
	attrs := netlink.NewLinkAttrs()
	attrs.Name = name
	attrs.MTU = mtu
	m, err := mac(hw)
	attrs.HardwareAddr = m
	return attrs, err
}

// vethAdd creates a veth pair in one message, each end in its namespace under its final name (`ip link add ... type veth peer ... netns PID`).
func vethAdd(op Op) error {
	if op.Peer == nil || op.Peer.Name == "" {
		return Usage("vethAdd needs a peer name")
	}
	attrs, err := linkAttrs(op.Name, op.MTU, op.MAC)
	if err != nil {
		return err
	}
	veth := netlink.NewVeth(attrs)
	veth.PeerName = op.Peer.Name
	veth.PeerMTU = uint32(op.Peer.MTU)
	if veth.PeerHardwareAddr, err = mac(op.Peer.MAC); err != nil {
		return err
	}
	if op.Peer.PID != 0 {
		// As `netns PID`: the kernel finds the namespace (ESRCH when the process is gone).
		veth.PeerNamespace = netlink.NsPid(op.Peer.PID)
	}
	return netlink.LinkAdd(veth)
}

func bridgeAdd(op Op) error {
	attrs, err := linkAttrs(op.Name, op.MTU, op.MAC)
	if err != nil {
		return err
	}
	return netlink.LinkAdd(&netlink.Bridge{LinkAttrs: attrs})
}

// ifbAdd is `ip link add name NAME [address MAC] type ifb`: the device a VethAttachment's egress limit shapes on.
func ifbAdd(op Op) error {
	attrs, err := linkAttrs(op.Name, op.MTU, op.MAC)
	if err != nil {
		return err
	}
	return netlink.LinkAdd(&netlink.Ifb{LinkAttrs: attrs})
}

func vxlanAdd(op Op) error {
	attrs, err := linkAttrs(op.Name, op.MTU, op.MAC)
	if err != nil {
		return err
	}
	local, remote := net.ParseIP(op.Local), net.ParseIP(op.Remote)
	if local == nil || remote == nil {
		return Usage(fmt.Sprintf("vxlanAdd needs IP addresses: local %q, remote %q", op.Local, op.Remote))
	}
	// As `ip link add ... type vxlan id VNI local L remote R dstport P`: learning on, as iproute2's default.
	return netlink.LinkAdd(&netlink.Vxlan{LinkAttrs: attrs, VxlanId: op.VNI, SrcAddr: local, Group: remote, Port: op.Port, Learning: true})
}

// The modes of a macvlan and an ipvlan, as iproute2 names them.
var (
	macvlanModes = map[string]netlink.MacvlanMode{
		"private": netlink.MACVLAN_MODE_PRIVATE, "vepa": netlink.MACVLAN_MODE_VEPA, "bridge": netlink.MACVLAN_MODE_BRIDGE,
		"passthru": netlink.MACVLAN_MODE_PASSTHRU, "source": netlink.MACVLAN_MODE_SOURCE,
	}
	ipvlanModes = map[string]netlink.IPVlanMode{"l2": netlink.IPVLAN_MODE_L2, "l3": netlink.IPVLAN_MODE_L3, "l3s": netlink.IPVLAN_MODE_L3S}
)

// sublinkAdd is `ip link add link PARENT name NAME [mtu N] [address MAC] [netns PID] type macvlan|ipvlan mode M`:
// one message, the link made straight in its namespace under its name.
func sublinkAdd(op Op) error {
	parent, err := linkByName(op.Parent)
	if err != nil {
		return err
	}
	attrs, err := linkAttrs(op.Name, op.MTU, op.MAC)
	if err != nil {
		return err
	}
	attrs.ParentIndex = parent.Attrs().Index
	if op.PID != 0 {
		// As `netns PID`: the kernel finds the namespace (ESRCH when the process is gone).
		attrs.Namespace = netlink.NsPid(op.PID)
	}
	switch op.Kind {
	case "macvlan":
		mode, ok := macvlanModes[op.Mode]
		if !ok {
			return Usage(fmt.Sprintf("unknown macvlan mode %q", op.Mode))
		}
		return netlink.LinkAdd(&netlink.Macvlan{LinkAttrs: attrs, Mode: mode})
	case "ipvlan":
		mode, ok := ipvlanModes[op.Mode]
		if !ok {
			return Usage(fmt.Sprintf("unknown ipvlan mode %q", op.Mode))
		}
		if attrs.HardwareAddr != nil {
			return Usage("an ipvlan has its parent's MAC")
		}
		return netlink.LinkAdd(&netlink.IPVlan{LinkAttrs: attrs, Mode: mode})
	}
	return Usage(fmt.Sprintf("sublinkAdd: unknown kind %q (macvlan, ipvlan)", op.Kind))
}

// linkSet is `ip link set dev NAME [name NEW] [master M] [alias A] [mtu N] [address MAC] [up|down]` in one message.
func linkSet(op Op) error {
	link, err := linkByName(op.Name)
	if err != nil {
		return err
	}
	master := -1
	if op.Master != nil {
		// Resolved first, as ip does: a missing master changes nothing.
		m, err := linkByName(*op.Master)
		if err != nil {
			return err
		}
		master = m.Attrs().Index
	}
	hw, err := mac(op.MAC)
	if err != nil {
		return err
	}
	var attrs []*nl.RtAttr
	if op.NewName != "" {
		attrs = append(attrs, nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(op.NewName)))
	}
	if hw != nil {
		attrs = append(attrs, nl.NewRtAttr(unix.IFLA_ADDRESS, hw))
	}
	if op.MTU != 0 {
		attrs = append(attrs, nl.NewRtAttr(unix.IFLA_MTU, nl.Uint32Attr(uint32(op.MTU))))
	}
	if op.Alias != nil {
		attrs = append(attrs, nl.NewRtAttr(unix.IFLA_IFALIAS, []byte(*op.Alias)))
	}
	if master >= 0 {
		attrs = append(attrs, nl.NewRtAttr(unix.IFLA_MASTER, nl.Uint32Attr(uint32(master))))
	}
	// One message, as `ip link set` sends: the kernel applies the settings in its order, the up/down flag last.
	req := nl.NewNetlinkRequest(unix.RTM_NEWLINK, unix.NLM_F_ACK)
	msg := nl.NewIfInfomsg(unix.AF_UNSPEC)
	msg.Index = int32(link.Attrs().Index)
	if op.Up != nil {
		msg.Change = unix.IFF_UP
		if *op.Up {
			msg.Flags = unix.IFF_UP
		}
	}
	req.AddData(msg)
	for _, a := range attrs {
		req.AddData(a)
	}
	_, err = req.Execute(unix.NETLINK_ROUTE, 0)
	return err
}

// bridgeSet is `ip link set dev NAME type bridge [stp_state 0|1] [vlan_filtering 0|1]`.
func bridgeSet(op Op) error {
	link, err := linkByName(op.Name)
	if err != nil {
		return err
	}
	info := nl.NewRtAttr(unix.IFLA_LINKINFO, nil)
	info.AddRtAttr(nl.IFLA_INFO_KIND, nl.NonZeroTerminated("bridge"))
	data := info.AddRtAttr(nl.IFLA_INFO_DATA, nil)
	if op.STP != nil {
		data.AddRtAttr(nl.IFLA_BR_STP_STATE, nl.Uint32Attr(boolNum(*op.STP)))
	}
	if op.VlanFiltering != nil {
		data.AddRtAttr(nl.IFLA_BR_VLAN_FILTERING, nl.Uint8Attr(uint8(boolNum(*op.VlanFiltering))))
	}
	return sendLinkInfo(link.Attrs().Index, info)
}

// vxlanSetPeers is `ip link set dev NAME type vxlan local L remote R`.
func vxlanSetPeers(op Op) error {
	link, err := linkByName(op.Name)
	if err != nil {
		return err
	}
	local, remote := net.ParseIP(op.Local), net.ParseIP(op.Remote)
	if local == nil || remote == nil {
		return Usage(fmt.Sprintf("vxlanSetPeers needs IP addresses: local %q, remote %q", op.Local, op.Remote))
	}
	info := nl.NewRtAttr(unix.IFLA_LINKINFO, nil)
	info.AddRtAttr(nl.IFLA_INFO_KIND, nl.NonZeroTerminated("vxlan"))
	data := info.AddRtAttr(nl.IFLA_INFO_DATA, nil)
	if v4 := local.To4(); v4 != nil {
		data.AddRtAttr(nl.IFLA_VXLAN_LOCAL, []byte(v4))
	} else {
		data.AddRtAttr(nl.IFLA_VXLAN_LOCAL6, []byte(local.To16()))
	}
	if v4 := remote.To4(); v4 != nil {
		data.AddRtAttr(nl.IFLA_VXLAN_GROUP, []byte(v4))
	} else {
		data.AddRtAttr(nl.IFLA_VXLAN_GROUP6, []byte(remote.To16()))
	}
	return sendLinkInfo(link.Attrs().Index, info)
}

func sendLinkInfo(index int, info *nl.RtAttr) error {
	req := nl.NewNetlinkRequest(unix.RTM_NEWLINK, unix.NLM_F_ACK)
	msg := nl.NewIfInfomsg(unix.AF_UNSPEC)
	msg.Index = int32(index)
	req.AddData(msg)
	req.AddData(info)
	_, err := req.Execute(unix.NETLINK_ROUTE, 0)
	return err
}

func boolNum(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

func linkDel(name string) error {
	link, err := linkByName(name)
	if err != nil {
		return err
	}
	return netlink.LinkDel(link)
}

// addr adds or removes an address (IPv4 or IPv6) as `ip addr add|del CIDR dev NAME`: adding one that is there is EEXIST, removing one that is not EADDRNOTAVAIL.
func addr(add bool, name, cidr string) error {
	a, err := netlink.ParseAddr(cidr)
	if err != nil {
		return Usage(fmt.Sprintf("not an address with a prefix length: %q", cidr))
	}
	link, err := linkByName(name)
	if err != nil {
		return err
	}
	if add {
		return netlink.AddrAdd(link, a)
	}
	return netlink.AddrDel(link, a)
}

func parseIP(text string) (net.IP, int, error) {
	ip := net.ParseIP(text)
	if ip == nil {
		return nil, 0, Usage(fmt.Sprintf("not an IP address: %q", text))
	}
	if ip.To4() != nil {
		return ip.To4(), netlink.FAMILY_V4, nil
	}
	return ip, netlink.FAMILY_V6, nil
}

// routeAddDefault is `ip route add default via GATEWAY dev NAME` (EEXIST when the namespace has a default route of that family).
func routeAddDefault(dev, gateway string) error {
	gw, family, err := parseIP(gateway)
	if err != nil {
		return err
	}
	link, err := linkByName(dev)
	if err != nil {
		return err
	}
	return netlink.RouteAdd(&netlink.Route{LinkIndex: link.Attrs().Index, Gw: gw, Family: family})
}

// routeDelDefault is `ip [-6] route del default dev NAME` (ESRCH when there is none).
func routeDelDefault(dev string, family int) error {
	link, err := linkByName(dev)
	if err != nil {
		return err
	}
	f, err := familyOf(family)
	if err != nil {
		return err
	}
	return netlink.RouteDel(&netlink.Route{LinkIndex: link.Attrs().Index, Family: f, Dst: defaultDst(f)})
}

func familyOf(n int) (int, error) {
	switch n {
	case 0, 4:
		return netlink.FAMILY_V4, nil
	case 6:
		return netlink.FAMILY_V6, nil
	}
	return 0, Usage(fmt.Sprintf("family is 4 or 6, not %d", n))
}

func defaultDst(family int) *net.IPNet {
	if family == netlink.FAMILY_V6 {
		return &net.IPNet{IP: net.IPv6zero, Mask: net.CIDRMask(0, 128)}
	}
	return &net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)}
}

// addrSettle waits until no global IPv6 address of the link is tentative
// (duplicate address detection done), as CNI's SettleAddresses: an address
// that failed it is EADDRINUSE; still tentative after the timeout, ETIMEDOUT.
func addrSettle(name string, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	deadline := time.Now().Add(timeout)
	for {
		link, err := linkByName(name)
		if err != nil {
			return err
		}
		addrs, err := dump(func() ([]netlink.Addr, error) { return netlink.AddrList(link, netlink.FAMILY_V6) })
		if err != nil {
			return err
		}
		tentative := ""
		for _, a := range addrs {
			if a.IP.IsLinkLocalUnicast() {
				continue
			}
			if a.Flags&unix.IFA_F_DADFAILED != 0 {
				return fmt.Errorf("%s on %s: duplicate address detected: %w", a.IPNet, name, unix.EADDRINUSE)
			}
			if a.Flags&unix.IFA_F_TENTATIVE != 0 {
				tentative = a.IPNet.String()
			}
		}
		if tentative == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s on %s still tentative after %s (is the link up?): %w", tentative, name, timeout, unix.ETIMEDOUT)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ipv6Enable turns IPv6 on for one interface (`sysctl -w
// net/ipv6/conf/NAME/disable_ipv6=0`), as CNI does before it adds IPv6
// addresses: Docker turns IPv6 off in the namespace of a container without
// an IPv6 network, and an interface made there refuses IPv6 addresses. The
// file is opened on this locked thread, so it is the request namespace's
// (/proc/sys/net is the opener's namespace's); nothing else is changed.
func ipv6Enable(name string) error {
	if _, err := linkByName(name); err != nil {
		return err
	}
	return os.WriteFile(fmt.Sprintf("/proc/sys/net/ipv6/conf/%s/disable_ipv6", name), []byte("0"), 0)
}

// netnsOf is the name of a process's network namespace (`net:[4026532412]`), or "" when the process is gone.
func netnsOf(pid int) (string, error) {
	target, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid))
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ESRCH) {
		return "", nil
	}
	return target, err
}

// Executed is what a program run by exec did.
type Executed struct {
	ExitCode int    `json:"exitCode"`
	Stdout   string `json:"stdout"`
	Stderr   string `json:"stderr"`
}

// execute runs a program (no shell, C locale) from this small process, in the request's namespace: what the engine would otherwise fork itself.
func execute(argv []string, input *string) (any, error) {
	if len(argv) == 0 {
		return nil, Usage("exec needs a program")
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if input != nil {
		cmd.Stdin = bytes.NewBufferString(*input)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return nil, err
	}
	code := 0
	if exit != nil {
		code = exit.ExitCode()
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
	}
	return Executed{ExitCode: code, Stdout: stdout.String(), Stderr: stderr.String()}, nil
}
