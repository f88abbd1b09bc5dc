/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gpucheck_model: the model table, matching by PCI id and by device name. */
#include "gpucheck_model.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*
 * Figures: NVIDIA H100 Tensor Core GPU datasheet (SXM5 / PCIe), H800
 * product brief, H200 datasheet (SXM / NVL), A100 datasheet (SXM4 / PCIe,
 * 40 and 80 GB). PCIe Gen5 x16 is 64 GB/s and Gen4 x16 32 GB/s per
 * direction; NVLink 900/600/400 GB/s totals are halved per direction. PCIe
 * boards' NVLink bridges pair only two GPUs, so they get no P2P floor.
 * PCI device ids as listed in pci.ids (pciutils).
 */
/* clang-format off */
static const gpucheck_model models[] = {
	{"H100 SXM5", "h100", "pcie nvl", {0x2330, 0}, 3.35, 989.4, 989.4,
	 66.9, 33.5, 64, 450, "NVIDIA H100 datasheet, SXM5 column"},
	{"H100 PCIe", "h100 pcie", "", {0x2331, 0}, 2.0, 756.0, 756.0, 51.2,
	 25.6, 64, 0, "NVIDIA H100 datasheet, PCIe column"},
	{"H800 PCIe", "h800 pcie", "", {0x2322, 0}, 2.0, 756.0, 756.0, 51.0,
	 0.8, 64, 0, "NVIDIA H800 PCIe product brief"},
	{"H800", "h800", "pcie", {0x2324, 0}, 3.35, 989.4, 989.4, 66.9, 1.0,
	 64, 200, "NVIDIA H800 SXM5 product brief (NVLink 400 GB/s)"},
	{"H200 NVL", "h200 nvl", "", {0x233b, 0}, 4.8, 835.5, 835.5, 60.0,
	 30.0, 64, 0, "NVIDIA H200 datasheet, NVL column"},
	{"H200", "h200", "nvl", {0x2335, 0}, 4.8, 989.4, 989.4, 66.9, 33.5,
	 64, 450, "NVIDIA H200 datasheet, SXM column"},
	{"A100 SXM 80GB", "a100 80gb", "pcie", {0x20b2, 0}, 2.039, 312.0,
	 312.0, 19.5, 9.7, 32, 300, "NVIDIA A100 datasheet, 80GB SXM column"},
	{"A100 SXM 40GB", "a100", "pcie 80gb", {0x20b0, 0}, 1.555, 312.0,
	 312.0, 19.5, 9.7, 32, 300, "NVIDIA A100 datasheet, 40GB SXM column"},
	{"A100 PCIe 80GB", "a100 pcie 80gb", "", {0x20b5, 0}, 1.935, 312.0,
	 312.0, 19.5, 9.7, 32, 0, "NVIDIA A100 datasheet, 80GB PCIe column"},
	{"A100 PCIe 40GB", "a100 pcie", "80gb", {0x20f1, 0}, 1.555, 312.0,
	 312.0, 19.5, 9.7, 32, 0, "NVIDIA A100 datasheet, 40GB PCIe column"},
};
/* clang-format on */

#define N_MODELS ((int)(sizeof(models) / sizeof(models[0])))

const gpucheck_model *gpucheck_models(int *count)
{
	if (count)
		*count = N_MODELS;
	return models;
}

/* Lower-cased alphanumeric tokens of @s, each followed by one space, with a
 * leading space, into @out: " nvidia a100 sxm4 80gb ". */
static void tokenize(const char *s, char *out, size_t len)
{
	size_t o = 0;
	int in_tok = 0;

	if (len < 3) {
		if (len)
			out[0] = '\0';
		return;
	}
	out[o++] = ' ';
	for (; *s && o + 2 < len; s++) {
		if (isalnum((unsigned char)*s)) {
			out[o++] = (char)tolower((unsigned char)*s);
			in_tok = 1;
		} else if (in_tok) {
			out[o++] = ' ';
			in_tok = 0;
		}
	}
	if (in_tok)
		out[o++] = ' ';
	out[o] = '\0';
}

/* True when every space-separated word of @words is a token of @toks
 * (@want_all) or when none is (!@want_all). */
static int tokens_match(const char *toks, const char *words, int want_all)
{
	char w[34];
	const char *p = words;

	while (*p) {
		size_t n = strcspn(p, " ");
		if (n > 0 && n < 32) {
			w[0] = ' ';
			memcpy(w + 1, p, n);
			w[n + 1] = ' ';
			w[n + 2] = '\0';
			int present = strstr(toks, w) != NULL;
			if (present != want_all)
				return 0;
		}
		p += n;
		p += strspn(p, " ");
	}
	return 1;
}

const gpucheck_model *gpucheck_model_match(const char *name, uint16_t pci_id)
{
	char toks[256];

	if (pci_id) {
		for (int m = 0; m < N_MODELS; m++)
			for (int k = 0; k < 4 && models[m].pci_ids[k]; k++)
				if (models[m].pci_ids[k] == pci_id)
					return &models[m];
	}
	if (name && *name) {
		tokenize(name, toks, sizeof(toks));
		for (int m = 0; m < N_MODELS; m++)
			if (tokens_match(toks, models[m].tokens, 1) &&
			    tokens_match(toks, models[m].not_tokens, 0))
				return &models[m];
	}
	errno = ENOENT;
	return NULL;
}

const gpucheck_model *gpucheck_model_by_name(const char *name)
{
	for (int m = 0; name && m < N_MODELS; m++)
		if (strcasecmp(models[m].name, name) == 0)
			return &models[m];
	errno = ENOENT;
	return NULL;
}

/* Reads one hexadecimal sysfs attribute; -1 with errno on failure. */
static long read_hex_attr(const char *path)
{
	char buf[32];
	FILE *f = fopen(path, "r");
	char *end;
	long v;

	if (!f)
		return -1;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		errno = EIO;
		return -1;
	}
	fclose(f);
	errno = 0;
	v = strtol(buf, &end, 16);
	if (errno || end == buf || v < 0 || v > 0xffff) {
		errno = EINVAL;
		return -1;
	}
	return v;
}

uint16_t gpucheck_pci_device_id(const char *sysfs_root, int domain, int bus,
				int dev)
{
	char path[512];
	long vendor, device;

	if (!sysfs_root || domain < 0 || bus < 0 || dev < 0) {
		errno = EINVAL;
		return 0;
	}
	snprintf(path, sizeof(path),
		 "%s/bus/pci/devices/%04x:%02x:%02x.0/vendor", sysfs_root,
		 domain, bus, dev);
	vendor = read_hex_attr(path);
	if (vendor < 0)
		return 0;
	if (vendor != GPUCHECK_PCI_VENDOR_NVIDIA) {
		errno = ENODEV;
		return 0;
	}
	snprintf(path, sizeof(path),
		 "%s/bus/pci/devices/%04x:%02x:%02x.0/device", sysfs_root,
		 domain, bus, dev);
	device = read_hex_attr(path);
	if (device <= 0)
		return 0;
	return (uint16_t)device;
}
