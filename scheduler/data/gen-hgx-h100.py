#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
# Writes hgx-h100.xml: the project's hwloc 2.0 description of an HGX H100 node.
"""An 8-GPU HGX H100 node as the centre runs them (DGX H100-like):
2 sockets x 56 cores x 2 threads (PUs 0-55/112-167 on socket 0, 56-111/168-223
on socket 1), one NUMA node per socket, four PCIe switches (two per socket,
each under its own host bridge) with 2 H100 SXM5 GPUs and 2 ConnectX-7 NICs
each, and 4 NVSwitches: every GPU has 18 NVLinks (5+4+4+5) into them.
Run: python3 gen-hgx-h100.py > hgx-h100.xml
A smaller CPU side for tests on small machines (same GPUs, NICs, PCIe):
python3 gen-hgx-h100.py CORES_PER_SOCKET THREADS_PER_CORE"""
import sys

CORES = int(sys.argv[1]) if len(sys.argv) > 1 else 56
THREADS = int(sys.argv[2]) if len(sys.argv) > 2 else 2
NPU = 2 * CORES * THREADS
gp = [100]


def gpi():
    gp[0] += 1
    return gp[0]


def cpuset(pus):
    words = [0] * ((NPU + 31) // 32)
    for p in pus:
        words[p // 32] |= 1 << (p % 32)
    return ",".join("0x%08x" % w for w in reversed(words))


def sets(pus, nodes):
    cs = cpuset(pus)
    ns = "0x%08x" % sum(1 << n for n in nodes)
    return ('cpuset="%s" complete_cpuset="%s" nodeset="%s" complete_nodeset="%s"'
            % (cs, cs, ns, ns))


out = []
w = out.append
w('<?xml version="1.0" encoding="UTF-8"?>')
w('<!DOCTYPE topology SYSTEM "hwloc2.dtd">')
w('<topology version="2.0">')
allpus = range(NPU)
w('  <object type="Machine" os_index="0" %s allowed_cpuset="%s" '
  'allowed_nodeset="0x00000003" gp_index="1">' % (sets(allpus, [0, 1]),
                                                 cpuset(allpus)))
for k, v in [("DMIProductName", "HGX H100 8-GPU (aiss reference description)"),
             ("DMIBoardVendor", "NVIDIA"), ("Architecture", "x86_64"),
             ("HostName", "hgx-h100"), ("Backend", "NVML")]:
    w('    <info name="%s" value="%s"/>' % (k, v))

gpu_osdev = []
nvswitch_pci = []
bases = [0x10, 0x30, 0x90, 0xb0]
for pkg in range(2):
    pus = [t * 2 * CORES + c for t in range(THREADS)
           for c in range(CORES * pkg, CORES * pkg + CORES)]
    w('    <object type="Package" os_index="%d" %s gp_index="%d">'
      % (pkg, sets(pus, [pkg]), gpi()))
    w('      <info name="CPUVendor" value="GenuineIntel"/>')
    w('      <info name="CPUModel" value="Intel(R) Xeon(R) Platinum 8480C"/>')
    w('      <object type="NUMANode" os_index="%d" %s gp_index="%d" '
      'local_memory="1082331758592"/>' % (pkg, sets(pus, [pkg]), gpi()))
    for c in range(CORES):
        core = CORES * pkg + c
        threads = [core + t * 2 * CORES for t in range(THREADS)]
        w('      <object type="Core" os_index="%d" %s gp_index="%d">'
          % (c, sets(threads, [pkg]), gpi()))
        for pu in threads:
            w('        <object type="PU" os_index="%d" %s gp_index="%d"/>'
              % (pu, sets([pu], [pkg]), gpi()))
        w('      </object>')
    for sw in (2 * pkg, 2 * pkg + 1):
        b = bases[sw]
        w('      <object type="Bridge" gp_index="%d" bridge_type="0-1" depth="0" '
          'bridge_pci="0000:[%02x-%02x]">' % (gpi(), b + 1, b + 15))
        w('        <object type="Bridge" gp_index="%d" bridge_type="1-1" depth="1" '
          'bridge_pci="0000:[%02x-%02x]" pci_busid="0000:%02x:01.0" '
          'pci_type="0604 [8086:352a] [8086:0000] 04" pci_link_speed="31.507692">'
          % (gpi(), b + 1, b + 15, b))
        w('          <object type="Bridge" gp_index="%d" bridge_type="1-1" depth="2" '
          'bridge_pci="0000:[%02x-%02x]" pci_busid="0000:%02x:00.0" '
          'pci_type="0604 [1000:c030] [1000:100b] b0" pci_link_speed="31.507692">'
          % (gpi(), b + 2, b + 15, b + 1))
        for port in range(4):
            sec = b + 3 + port
            w('            <object type="Bridge" gp_index="%d" bridge_type="1-1" '
              'depth="3" bridge_pci="0000:[%02x-%02x]" pci_busid="0000:%02x:%02x.0" '
              'pci_type="0604 [1000:c030] [1000:100b] b0" pci_link_speed="31.507692">'
              % (gpi(), sec, sec, b + 2, port))
            if port < 2:
                g = 2 * sw + port
                w('              <object type="PCIDev" gp_index="%d" '
                  'pci_busid="0000:%02x:00.0" pci_type="0302 [10de:2330] '
                  '[10de:16c1] a1" pci_link_speed="63.015385">' % (gpi(), sec))
                w('                <info name="PCIVendor" value="NVIDIA Corporation"/>')
                w('                <info name="PCIDevice" value="GH100 [H100 SXM5 80GB]"/>')
                osd = gpi()
                gpu_osdev.append(osd)
                w('                <object type="OSDev" gp_index="%d" name="nvml%d" '
                  'subtype="NVML" osdev_type="1">' % (osd, g))
                w('                  <info name="Backend" value="NVML"/>')
                w('                  <info name="GPUVendor" value="NVIDIA Corporation"/>')
                w('                  <info name="GPUModel" value="NVIDIA H100 80GB HBM3"/>')
                w('                  <info name="NVIDIAUUID" value="GPU-aa55%04d-0000-4000-8000-00000000000%d"/>' % (g, g))
                w('                </object>')
                w('                <object type="OSDev" gp_index="%d" name="cuda%d" '
                  'subtype="CUDA" osdev_type="5">' % (gpi(), g))
                w('                  <info name="Backend" value="CUDA"/>')
                w('                  <info name="GPUModel" value="NVIDIA H100 80GB HBM3"/>')
                w('                </object>')
                w('              </object>')
            else:
                n = 2 * sw + port - 2
                w('              <object type="PCIDev" gp_index="%d" '
                  'pci_busid="0000:%02x:00.0" pci_type="0207 [15b3:1021] '
                  '[15b3:0041] 00" pci_link_speed="63.015385">' % (gpi(), sec))
                w('                <info name="PCIVendor" value="Mellanox Technologies"/>')
                w('                <info name="PCIDevice" value="MT2910 Family [ConnectX-7]"/>')
                w('                <object type="OSDev" gp_index="%d" name="ibp%ds0" '
                  'osdev_type="2">' % (gpi(), sec))
                w('                  <info name="Address" value="00:00:10:29:fe:80:00:00:00:00:00:00:a0:88:c2:03:00:%02x:%02x:%02x"/>' % (sw, port, n))
                w('                </object>')
                w('                <object type="OSDev" gp_index="%d" name="mlx5_%d" '
                  'subtype="OpenFabrics" osdev_type="3">' % (gpi(), n))
                w('                  <info name="NodeGUID" value="a088:c203:00%02x:%04x"/>' % (sw, n))
                w('                  <info name="Port1State" value="4"/>')
                w('                  <info name="Port1LID" value="0x%x"/>' % (n + 1))
                w('                </object>')
                w('              </object>')
            w('            </object>')
        w('          </object>')
        w('        </object>')
        w('      </object>')
    if pkg == 1:
        # The 4 NVSwitches, managed over PCIe from socket 1.
        b = 0xd0
        w('      <object type="Bridge" gp_index="%d" bridge_type="0-1" depth="0" '
          'bridge_pci="0000:[%02x-%02x]">' % (gpi(), b + 1, b + 15))
        w('        <object type="Bridge" gp_index="%d" bridge_type="1-1" depth="1" '
          'bridge_pci="0000:[%02x-%02x]" pci_busid="0000:%02x:01.0" '
          'pci_type="0604 [8086:352a] [8086:0000] 04" pci_link_speed="3.938462">'
          % (gpi(), b + 1, b + 15, b))
        w('          <object type="Bridge" gp_index="%d" bridge_type="1-1" depth="2" '
          'bridge_pci="0000:[%02x-%02x]" pci_busid="0000:%02x:00.0" '
          'pci_type="0604 [1000:c030] [1000:100b] b0" pci_link_speed="3.938462">'
          % (gpi(), b + 2, b + 15, b + 1))
        for s in range(4):
            sec = b + 3 + s
            w('            <object type="Bridge" gp_index="%d" bridge_type="1-1" '
              'depth="3" bridge_pci="0000:[%02x-%02x]" pci_busid="0000:%02x:%02x.0" '
              'pci_type="0604 [1000:c030] [1000:100b] b0" pci_link_speed="3.938462">'
              % (gpi(), sec, sec, b + 2, s))
            pid = gpi()
            nvswitch_pci.append(pid)
            w('              <object type="PCIDev" gp_index="%d" subtype="NVSwitch" '
              'pci_busid="0000:%02x:00.0" pci_type="0680 [10de:22a3] [10de:1796] a1" '
              'pci_link_speed="3.938462"/>' % (pid, sec))
            w('            </object>')
        w('          </object>')
        w('        </object>')
        w('      </object>')
    w('    </object>')
w('  </object>')

w('  <distances2 type="NUMANode" nbobjs="2" kind="5" name="NUMALatency" indexing="os">')
idx = "0 1 "
w('    <indexes length="%d">%s</indexes>' % (len(idx), idx))
vals = "10 21 21 10 "
w('    <u64values length="%d">%s</u64values>' % (len(vals), vals))
w('  </distances2>')

objs = ["OSDev:%d" % g for g in gpu_osdev] + ["PCIDev:%d" % p for p in nvswitch_pci]
n = len(objs)
links = [5, 4, 4, 5]
m = [[0] * n for _ in range(n)]
for gi in range(8):
    for si in range(4):
        m[gi][8 + si] = m[8 + si][gi] = links[si] * 25000
w('  <distances2hetero nbobjs="%d" kind="25" name="NVLinkBandwidth">' % n)
for i in range(0, n, 6):
    t = " ".join(objs[i:i + 6]) + " "
    w('    <indexes length="%d">%s</indexes>' % (len(t), t))
flat = [v for row in m for v in row]
for i in range(0, len(flat), 12):
    t = " ".join(str(v) for v in flat[i:i + 12]) + " "
    w('    <u64values length="%d">%s</u64values>' % (len(t), t))
w('  </distances2hetero>')
w('</topology>')
sys.stdout.write("\n".join(out) + "\n")
