/* SPDX-License-Identifier: GPL-2.0-or-later */
/* aiss_topo: hwloc -> aiss_node (GPUs, NICs, switches, NUMA, NVLink). */
#include "aiss_topo.h"

#include <errno.h>
#include <hwloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PCI_VENDOR_NVIDIA 0x10de
#define PCI_VENDOR_MELLANOX 0x15b3

struct found {
	hwloc_obj_t pci;
	struct aiss_device_desc desc;
};

static void set_err(char *err, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

static int is_gpu(hwloc_obj_t o)
{
	return o->attr->pcidev.vendor_id == PCI_VENDOR_NVIDIA &&
	       (o->attr->pcidev.class_id >> 8) == 0x03;
}

/* An NVSwitch: hwloc marks it with subtype "NVSwitch"; recordings differ in
 * its PCI class (0x0680 or other), so any non-GPU NVIDIA PCI device at the
 * end of an NVLink counts. */
static int is_nvswitch(hwloc_obj_t o)
{
	if (o->type != HWLOC_OBJ_PCI_DEVICE)
		return 0;
	if (o->subtype && !strcmp(o->subtype, "NVSwitch"))
		return 1;
	return o->attr->pcidev.vendor_id == PCI_VENDOR_NVIDIA &&
	       (o->attr->pcidev.class_id >> 8) != 0x03;
}

static int is_nic(hwloc_obj_t o)
{
	return o->attr->pcidev.vendor_id == PCI_VENDOR_MELLANOX &&
	       (o->attr->pcidev.class_id >> 8) == 0x02;
}

static int is_pci_bridge(hwloc_obj_t o)
{
	return o && o->type == HWLOC_OBJ_BRIDGE &&
	       o->attr->bridge.upstream_type == HWLOC_OBJ_BRIDGE_PCI;
}

/* The PCIe switch above @dev: the upstream port of the switch whose
 * downstream port @dev hangs from. A device right below a root port (or a
 * lone bridge below one) has no switch. */
static hwloc_obj_t switch_of(hwloc_obj_t dev)
{
	hwloc_obj_t port = dev->parent, up;

	if (!is_pci_bridge(port))
		return NULL;
	up = port->parent;
	if (!is_pci_bridge(up) || !is_pci_bridge(up->parent))
		return NULL;
	return up;
}

static hwloc_obj_t hostbridge_of(hwloc_obj_t dev)
{
	for (hwloc_obj_t o = dev->parent; o; o = o->parent)
		if (o->type == HWLOC_OBJ_BRIDGE &&
		    o->attr->bridge.upstream_type == HWLOC_OBJ_BRIDGE_HOST)
			return o;
	return NULL;
}

static void cpus_from(aiss_cpuset *dst, hwloc_const_cpuset_t set)
{
	int i;

	aiss_cpuset_zero(dst);
	if (!set)
		return;
	hwloc_bitmap_foreach_begin(i, set)
	{
		aiss_cpuset_set(dst, i);
	}
	hwloc_bitmap_foreach_end();
}

/* Fills the locality of @pci into @d: switch, host bridge, NUMA node,
 * package, CPUs. */
static void locate(hwloc_topology_t t, hwloc_obj_t pci,
		   struct aiss_device_desc *d)
{
	hwloc_obj_t sw = switch_of(pci), hb = hostbridge_of(pci);
	hwloc_obj_t anc = hwloc_get_non_io_ancestor_obj(t, pci), pkg;

	d->dom[AISS_LVL_SWITCH] = sw ? (int)sw->gp_index : -1;
	d->dom[AISS_LVL_HOSTBRIDGE] = hb ? (int)hb->gp_index : -1;
	d->dom[AISS_LVL_NUMA] = -1;
	d->dom[AISS_LVL_PACKAGE] = -1;
	if (!anc)
		return;
	cpus_from(&d->cpus, anc->cpuset);
	if (anc->nodeset && hwloc_bitmap_weight(anc->nodeset) == 1) {
		int os = hwloc_bitmap_first(anc->nodeset);
		hwloc_obj_t numa =
		    hwloc_get_numanode_obj_by_os_index(t, (unsigned)os);

		d->dom[AISS_LVL_NUMA] = os;
		if (numa && numa->cpuset && !hwloc_bitmap_iszero(numa->cpuset))
			cpus_from(&d->cpus, numa->cpuset);
	}
	pkg = anc->type == HWLOC_OBJ_PACKAGE
		  ? anc
		  : hwloc_get_ancestor_obj_by_type(t, HWLOC_OBJ_PACKAGE, anc);
	if (pkg)
		d->dom[AISS_LVL_PACKAGE] = (int)pkg->logical_index;
}

static void describe(hwloc_topology_t t, hwloc_obj_t pci, int gpu,
		     struct found *f)
{
	struct aiss_device_desc *d = &f->desc;
	const char *model = NULL, *name = NULL;
	struct hwloc_pcidev_attr_s *a = &pci->attr->pcidev;

	memset(f, 0, sizeof(*f));
	f->pci = pci;
	snprintf(d->busid, sizeof(d->busid), "%04x:%02x:%02x.%x",
		 a->domain & 0xffff, a->bus, a->dev, a->func);
	for (hwloc_obj_t c = pci->io_first_child; c; c = c->next_sibling) {
		const char *m;

		if (c->type != HWLOC_OBJ_OS_DEVICE || !c->name)
			continue;
		m = hwloc_obj_get_info_by_name(c, "GPUModel");
		if (m && !model)
			model = m;
		if (gpu) {
			/* nvml names first, then cuda, then anything. */
			if (!strncmp(c->name, "nvml", 4) ||
			    (!strncmp(c->name, "cuda", 4) &&
			     (!name || strncmp(name, "nvml", 4))) ||
			    !name)
				name = c->name;
		} else if (c->attr->osdev.type == HWLOC_OBJ_OSDEV_OPENFABRICS) {
			name = c->name;
		} else if (c->attr->osdev.type == HWLOC_OBJ_OSDEV_NETWORK) {
			snprintf(d->netdev, sizeof(d->netdev), "%s", c->name);
		}
	}
	if (!model)
		model = hwloc_obj_get_info_by_name(pci, "PCIDevice");
	if (model)
		snprintf(d->model, sizeof(d->model), "%s", model);
	else
		snprintf(d->model, sizeof(d->model), "[%04x:%04x]",
			 a->vendor_id, a->device_id);
	if (!name && !gpu && d->netdev[0])
		name = d->netdev;
	if (name)
		snprintf(d->name, sizeof(d->name), "%s", name);
	else
		snprintf(d->name, sizeof(d->name), "%s%s", gpu ? "gpu" : "nic",
			 d->busid);
	locate(t, pci, d);
}

static int cmp_busid(const void *x, const void *y)
{
	const struct found *a = x, *b = y;

	return strcmp(a->desc.busid, b->desc.busid);
}

static int index_of(const struct found *f, int n, hwloc_obj_t o)
{
	if (o && o->type == HWLOC_OBJ_OS_DEVICE)
		o = o->parent;
	for (int i = 0; i < n; i++)
		if (f[i].pci == o)
			return i;
	return -1;
}

/* NVLink bandwidth per GPU pair: direct links plus, when both GPUs link
 * to NVSwitches, the smaller of their total switch bandwidths. */
static void load_nvlink(hwloc_topology_t t, aiss_node *node,
			const struct found *gpus, int ngpus)
{
	struct hwloc_distances_s *dist[4];
	unsigned nr = 4;
	uint64_t sw_bw[AISS_MAX_GPUS] = {0};
	uint64_t direct[AISS_MAX_GPUS][AISS_MAX_GPUS];

	memset(direct, 0, sizeof(direct));
	if (hwloc_distances_get_by_name(t, "NVLinkBandwidth", &nr, dist, 0) < 0)
		return;
	if (nr > 4)
		nr = 4;
	for (unsigned d = 0; d < nr; d++) {
		unsigned n = dist[d]->nbobjs;

		for (unsigned i = 0; i < n; i++) {
			int a = index_of(gpus, ngpus, dist[d]->objs[i]);

			if (a < 0)
				continue;
			for (unsigned j = 0; j < n; j++) {
				hwloc_obj_t o = dist[d]->objs[j];
				uint64_t v = dist[d]->values[i * n + j];
				int b = index_of(gpus, ngpus, o);

				if (i == j)
					continue;
				if (b >= 0 && b != a)
					direct[a][b] += v;
				else if (b < 0 && is_nvswitch(o))
					sw_bw[a] += v;
			}
		}
		hwloc_distances_release(t, dist[d]);
	}
	for (int a = 0; a < ngpus; a++)
		for (int b = a + 1; b < ngpus; b++) {
			uint64_t bw = direct[a][b] > direct[b][a]
					  ? direct[a][b]
					  : direct[b][a];

			if (sw_bw[a] && sw_bw[b])
				bw += sw_bw[a] < sw_bw[b] ? sw_bw[a] : sw_bw[b];
			if (bw > UINT32_MAX)
				bw = UINT32_MAX;
			if (bw)
				aiss_node_set_nvlink(node, a, b, (uint32_t)bw);
		}
}

static void load_packages(hwloc_topology_t t, aiss_node *node)
{
	int n = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PACKAGE);

	for (int i = 0; i < n; i++) {
		hwloc_obj_t pkg =
		    hwloc_get_obj_by_type(t, HWLOC_OBJ_PACKAGE, (unsigned)i);
		hwloc_obj_t core = hwloc_get_next_obj_inside_cpuset_by_type(
		    t, pkg->cpuset, HWLOC_OBJ_CORE, NULL);
		struct aiss_package_desc p;

		memset(&p, 0, sizeof(p));
		p.id = (int)pkg->logical_index;
		p.core_first = core ? (int)core->logical_index : 0;
		p.ncores = hwloc_get_nbobjs_inside_cpuset_by_type(
		    t, pkg->cpuset, HWLOC_OBJ_CORE);
		cpus_from(&p.cpus, pkg->cpuset);
		aiss_node_add_package(node, &p);
	}
}

static const char *node_name(hwloc_topology_t t, const char *xml_path,
			     char *buf, size_t len)
{
	hwloc_obj_t root = hwloc_get_root_obj(t);
	const char *v = hwloc_obj_get_info_by_name(root, "HostName");

	if (v)
		return v;
	if (xml_path) {
		const char *slash = strrchr(xml_path, '/');

		return slash ? slash + 1 : xml_path;
	}
	if (gethostname(buf, len) == 0) {
		buf[len - 1] = '\0';
		return buf;
	}
	return "node";
}

aiss_node *aiss_topo_load(const char *xml_path, char *err, size_t errlen)
{
	hwloc_topology_t t = NULL;
	aiss_node *node = NULL;
	struct found *gpus = NULL, *nics = NULL;
	int ngpus = 0, nnics = 0, saved;
	char host[256];
	const char *src = xml_path                  ? xml_path
			  : getenv("HWLOC_XMLFILE") ? getenv("HWLOC_XMLFILE")
						    : "this machine";

	if (hwloc_topology_init(&t) < 0) {
		set_err(err, errlen, "hwloc: cannot initialise: %s",
			strerror(errno));
		return NULL;
	}
	hwloc_topology_set_io_types_filter(t, HWLOC_TYPE_FILTER_KEEP_ALL);
	if (xml_path && hwloc_topology_set_xml(t, xml_path) < 0) {
		saved = errno ? errno : EINVAL;
		set_err(err, errlen, "cannot read topology %s: %s", xml_path,
			strerror(saved));
		goto error;
	}
	if (hwloc_topology_load(t) < 0) {
		saved = errno ? errno : EINVAL;
		set_err(err, errlen, "cannot load topology from %s: %s", src,
			strerror(saved));
		goto error;
	}
	gpus = calloc(AISS_MAX_GPUS, sizeof(*gpus));
	nics = calloc(AISS_MAX_NICS, sizeof(*nics));
	if (!gpus || !nics) {
		saved = ENOMEM;
		set_err(err, errlen, "out of memory");
		goto error;
	}
	for (hwloc_obj_t o = hwloc_get_next_pcidev(t, NULL); o;
	     o = hwloc_get_next_pcidev(t, o)) {
		if (is_gpu(o) && ngpus < AISS_MAX_GPUS)
			describe(t, o, 1, &gpus[ngpus++]);
		else if (is_nic(o) && nnics < AISS_MAX_NICS)
			describe(t, o, 0, &nics[nnics++]);
	}
	if (!ngpus) {
		saved = ENODEV;
		set_err(err, errlen, "no NVIDIA GPU (PCI vendor 0x10de) in %s",
			src);
		goto error;
	}
	qsort(gpus, (size_t)ngpus, sizeof(*gpus), cmp_busid);
	qsort(nics, (size_t)nnics, sizeof(*nics), cmp_busid);
	node = aiss_node_create(node_name(t, xml_path, host, sizeof(host)));
	if (!node) {
		saved = ENOMEM;
		set_err(err, errlen, "out of memory");
		goto error;
	}
	for (int i = 0; i < ngpus; i++)
		aiss_node_add_gpu(node, &gpus[i].desc);
	for (int i = 0; i < nnics; i++)
		aiss_node_add_nic(node, &nics[i].desc);
	load_packages(t, node);
	load_nvlink(t, node, gpus, ngpus);
	if (aiss_node_finalize(node) < 0) {
		saved = errno;
		set_err(err, errlen, "cannot build the node model");
		goto error;
	}
	free(gpus);
	free(nics);
	hwloc_topology_destroy(t);
	return node;
error:
	aiss_node_destroy(node);
	free(gpus);
	free(nics);
	if (t)
		hwloc_topology_destroy(t);
	errno = saved;
	return NULL;
}
