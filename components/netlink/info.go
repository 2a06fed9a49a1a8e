package main

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// LinkJSON is a link in the shape of `ip -j -d link show` (and with
// addr_info, `ip -j -d addr show`): the fields the engine reads
// (components/src/host/ip.ts LinkInfo), named as iproute2 names them, so
// that both ways of reaching a host answer alike.
type LinkJSON struct {
	Ifindex     int           `json:"ifindex"`
	Link        string        `json:"link,omitempty"`
	LinkIndex   *int          `json:"link_index,omitempty"`
	Ifname      string        `json:"ifname"`
	Flags       []string      `json:"flags"`
	MTU         int           `json:"mtu"`
	Master      string        `json:"master,omitempty"`
	Operstate   string        `json:"operstate"`
	Address     string        `json:"address"`
	LinkType    string        `json:"link_type,omitempty"`
	LinkNetnsid *int          `json:"link_netnsid,omitempty"`
	Ifalias     string        `json:"ifalias,omitempty"`
	Linkinfo    *LinkinfoJSON `json:"linkinfo,omitempty"`
	AddrInfo    *[]AddrJSON   `json:"addr_info,omitempty"`
}

type LinkinfoJSON struct {
	InfoKind      string         `json:"info_kind"`
	InfoData      map[string]any `json:"info_data,omitempty"`
	InfoSlaveKind string         `json:"info_slave_kind,omitempty"`
}

type AddrJSON struct {
	Family    string `json:"family"`
	Local     string `json:"local"`
	Prefixlen int    `json:"prefixlen"`
	Scope     string `json:"scope"`
	Label     string `json:"label,omitempty"`
	Tentative bool   `json:"tentative,omitempty"`
	Dadfailed bool   `json:"dadfailed,omitempty"`
	// Dynamic: the address has a finite lifetime (autoconfigured from a router advertisement, or by DHCP), as iproute2 prints it.
	Dynamic bool `json:"dynamic,omitempty"`
}

// RouteJSON is a route in the shape of `ip -j route show` / `ip -j route get`.
type RouteJSON struct {
	Dst     string `json:"dst"`
	Gateway string `json:"gateway,omitempty"`
	Dev     string `json:"dev"`
	Prefsrc string `json:"prefsrc,omitempty"`
	// Flags: "linkdown" when the route's device has no carrier.
	Flags []string `json:"flags"`
}

func routeFlags(r netlink.Route) []string {
	if r.Flags&unix.RTNH_F_LINKDOWN != 0 {
		return []string{"linkdown"}
	}
	return []string{}
}

var flagNames = []struct {
	bit  uint32
	name string
}{
	{unix.IFF_LOOPBACK, "LOOPBACK"},
	{unix.IFF_BROADCAST, "BROADCAST"},
	{unix.IFF_POINTOPOINT, "POINTOPOINT"},
	{unix.IFF_MULTICAST, "MULTICAST"},
	{unix.IFF_NOARP, "NOARP"},
	{unix.IFF_UP, "UP"},
	{unix.IFF_LOWER_UP, "LOWER_UP"},
}

func linkGet(name string, withAddrs bool) (*LinkJSON, error) {
	link, err := linkByName(name)
	if err != nil {
		return nil, err
	}
	links, err := render([]netlink.Link{link}, withAddrs, nil)
	if err != nil {
		return nil, err
	}
	return links[0], nil
}

func linkList(withAddrs bool) ([]*LinkJSON, error) {
	links, err := dump(netlink.LinkList)
	if err != nil {
		return nil, err
	}
	return render(links, withAddrs, links)
}

// render turns links into their JSON; `all` (when listed already) names masters and same-namespace peers without another request.
func render(links []netlink.Link, withAddrs bool, all []netlink.Link) ([]*LinkJSON, error) {
	names := map[int]string{}
	for _, l := range all {
		names[l.Attrs().Index] = l.Attrs().Name
	}
	nameOf := func(index int) string {
		if n, ok := names[index]; ok {
			return n
		}
		if l, err := netlink.LinkByIndex(index); err == nil {
			names[index] = l.Attrs().Name
			return l.Attrs().Name
		}
		return ""
	}
	var byLink map[int][]AddrJSON
	if withAddrs {
		var err error
		if byLink, err = addresses(links); err != nil {
			return nil, err
		}
	}
	out := make([]*LinkJSON, 0, len(links))
	for _, l := range links {
		a := l.Attrs()
		j := &LinkJSON{
			Ifindex:   a.Index,
			Ifname:    a.Name,
			Flags:     flags(a.RawFlags),
			MTU:       a.MTU,
			Operstate: strings.ToUpper(a.OperState.String()),
			Address:   a.HardwareAddr.String(),
			Ifalias:   a.Alias,
			LinkType:  a.EncapType,
		}
		// A veth's peer: by index in another namespace (which may equal this link's own), by name in this one.
		if a.ParentIndex != 0 && a.NetNsID >= 0 {
			index, nsid := a.ParentIndex, a.NetNsID
			j.LinkIndex, j.LinkNetnsid = &index, &nsid
		} else if a.ParentIndex != 0 && a.ParentIndex != a.Index {
			j.Link = nameOf(a.ParentIndex)
		}
		if a.MasterIndex != 0 {
			j.Master = nameOf(a.MasterIndex)
		}
		j.Linkinfo = linkinfo(l, nameOf)
		if withAddrs {
			list := byLink[a.Index]
			if list == nil {
				list = []AddrJSON{}
			}
			j.AddrInfo = &list
		}
		out = append(out, j)
	}
	return out, nil
}

func flags(raw uint32) []string {
	out := []string{}
	if raw&unix.IFF_UP != 0 && raw&unix.IFF_RUNNING == 0 {
		out = append(out, "NO-CARRIER")
	}
	for _, f := range flagNames {
		if raw&f.bit != 0 {
			out = append(out, f.name)
		}
	}
	return out
}

func linkinfo(l netlink.Link, nameOf func(int) string) *LinkinfoJSON {
	kind := l.Type()
	if kind == "device" {
		// No IFLA_LINKINFO: loopback, a physical device (ip prints no linkinfo either).
		return nil
	}
	info := &LinkinfoJSON{InfoKind: kind}
	switch v := l.(type) {
	case *netlink.Bridge:
		data := map[string]any{}
		if stp, ok := bridgeSTP(v.Attrs().Index); ok {
			data["stp_state"] = stp
		}
		if v.VlanFiltering != nil {
			data["vlan_filtering"] = boolNum(*v.VlanFiltering)
		}
		info.InfoData = data
	case *netlink.Macvlan:
		info.InfoData = modeData(macvlanModes, v.Mode)
	case *netlink.IPVlan:
		info.InfoData = modeData(ipvlanModes, v.Mode)
	case *netlink.Vxlan:
		data := map[string]any{"id": v.VxlanId, "port": v.Port}
		// As iproute2 names them: `remote`/`local` over IPv4, `remote6`/`local6` over IPv6.
		if v.Group != nil {
			data[family6Key("remote", v.Group)] = v.Group.String()
		}
		if v.SrcAddr != nil {
			data[family6Key("local", v.SrcAddr)] = v.SrcAddr.String()
		}
		if v.VtepDevIndex != 0 {
			data["link"] = nameOf(v.VtepDevIndex)
		}
		info.InfoData = data
	}
	if s := l.Attrs().Slave; s != nil {
		info.InfoSlaveKind = s.SlaveType()
	} else if l.Attrs().MasterIndex != 0 {
		info.InfoSlaveKind = "bridge"
	}
	return info
}

// modeData is a macvlan's or ipvlan's info_data: its mode by iproute2's name.
func modeData[M comparable](modes map[string]M, mode M) map[string]any {
	for name, m := range modes {
		if m == mode {
			return map[string]any{"mode": name}
		}
	}
	return nil
}

// dump runs a netlink dump again when the kernel says it was interrupted by a
// change made meanwhile (NLM_F_DUMP_INTR: frequent on a host where others
// add and remove interfaces), so that an answer is never a mix of before and
// after.
func dump[T any](list func() (T, error)) (T, error) {
	var out T
	var err error
	for attempt := 0; attempt < 20; attempt++ {
		out, err = list()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			return out, err
		}
	}
	return out, fmt.Errorf("the kernel's answer kept changing while it was read (20 tries): %w", err)
}

// bridgeSTP reads IFLA_BR_STP_STATE, which the library's Bridge type does not carry.
func bridgeSTP(index int) (uint32, bool) {
	req := nl.NewNetlinkRequest(unix.RTM_GETLINK, unix.NLM_F_ACK)
	msg := nl.NewIfInfomsg(unix.AF_UNSPEC)
	msg.Index = int32(index)
	req.AddData(msg)
	msgs, err := req.Execute(unix.NETLINK_ROUTE, unix.RTM_NEWLINK)
	if err != nil || len(msgs) == 0 {
		return 0, false
	}
	attrs, err := nl.ParseRouteAttr(msgs[0][msg.Len():])
	if err != nil {
		return 0, false
	}
	for _, a := range attrs {
		if a.Attr.Type != unix.IFLA_LINKINFO {
			continue
		}
		infos, _ := nl.ParseRouteAttr(a.Value)
		for _, i := range infos {
			if i.Attr.Type != nl.IFLA_INFO_DATA {
				continue
			}
			data, _ := nl.ParseRouteAttr(i.Value)
			for _, d := range data {
				if d.Attr.Type == nl.IFLA_BR_STP_STATE && len(d.Value) >= 4 {
					return nl.NativeEndian().Uint32(d.Value[:4]), true
				}
			}
		}
	}
	return 0, false
}

// addresses of the given links (one dump when several), by link index, in the kernel's order.
func addresses(links []netlink.Link) (map[int][]AddrJSON, error) {
	var list []netlink.Addr
	var err error
	var link netlink.Link
	if len(links) == 1 {
		link = links[0]
	}
	list, err = dump(func() ([]netlink.Addr, error) { return netlink.AddrList(link, netlink.FAMILY_ALL) })
	if err != nil {
		return nil, err
	}
	out := map[int][]AddrJSON{}
	// IPv4 first, as `ip addr show` prints them.
	for _, want := range []bool{true, false} {
		for _, a := range list {
			if (a.IP.To4() != nil) != want {
				continue
			}
			ones, _ := a.Mask.Size()
			j := AddrJSON{
				Family:    map[bool]string{true: "inet", false: "inet6"}[want],
				Local:     a.IP.String(),
				Prefixlen: ones,
				Scope:     scopeName(a.Scope),
				Tentative: a.Flags&unix.IFA_F_TENTATIVE != 0,
				Dadfailed: a.Flags&unix.IFA_F_DADFAILED != 0,
				Dynamic:   a.Flags&unix.IFA_F_PERMANENT == 0,
			}
			if want {
				j.Label = a.Label
			}
			out[a.LinkIndex] = append(out[a.LinkIndex], j)
		}
	}
	return out, nil
}

func scopeName(s int) string {
	switch netlink.Scope(s) {
	case netlink.SCOPE_UNIVERSE:
		return "global"
	case netlink.SCOPE_LINK:
		return "link"
	case netlink.SCOPE_HOST:
		return "host"
	case netlink.SCOPE_SITE:
		return "site"
	}
	return "nowhere"
}

// defaultRoutes are the main table's default routes of a family, as `ip -j [-6] route show default`.
func defaultRoutes(family int) ([]RouteJSON, error) {
	f, err := familyOf(family)
	if err != nil {
		return nil, err
	}
	routes, err := dump(func() ([]netlink.Route, error) {
		return netlink.RouteListFiltered(f, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		return nil, err
	}
	out := []RouteJSON{}
	names := map[int]string{}
	for _, r := range routes {
		if r.Dst != nil {
			if ones, _ := r.Dst.Mask.Size(); ones != 0 {
				continue
			}
		}
		if r.LinkIndex == 0 {
			continue
		}
		if _, ok := names[r.LinkIndex]; !ok {
			if l, err := netlink.LinkByIndex(r.LinkIndex); err == nil {
				names[r.LinkIndex] = l.Attrs().Name
			}
		}
		j := RouteJSON{Dst: "default", Dev: names[r.LinkIndex], Flags: routeFlags(r)}
		if r.Gw != nil {
			j.Gateway = r.Gw.String()
		}
		out = append(out, j)
	}
	return out, nil
}

// routeGet is `ip -j route get ADDRESS`: the device and source address this namespace would use.
func routeGet(address string) ([]RouteJSON, error) {
	ip := net.ParseIP(address)
	if ip == nil {
		return nil, Usage("not an IP address: " + address)
	}
	routes, err := netlink.RouteGet(ip)
	if err != nil {
		return nil, err
	}
	out := []RouteJSON{}
	for _, r := range routes {
		j := RouteJSON{Dst: address, Flags: routeFlags(r)}
		if l, err := netlink.LinkByIndex(r.LinkIndex); err == nil {
			j.Dev = l.Attrs().Name
		}
		if r.Src != nil {
			j.Prefsrc = r.Src.String()
		}
		if r.Gw != nil {
			j.Gateway = r.Gw.String()
		}
		out = append(out, j)
	}
	return out, nil
}

// family6Key is `key` for an IPv4 address, `key6` for an IPv6 one (iproute2's JSON names of VXLAN addresses).
func family6Key(key string, ip net.IP) string {
	if ip.To4() != nil {
		return key
	}
	return key + "6"
}
