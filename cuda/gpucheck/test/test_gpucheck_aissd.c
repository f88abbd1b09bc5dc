/* SPDX-License-Identifier: GPL-2.0-or-later */
/* test_gpucheck_aissd: --report-to through aiss_client to a fake aissd. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "aiss_wire.h"
#include "gpucheck_aissd.h"

/* One-request fake aissd: records the request, answers @status. */
struct fake_server {
	int lfd;
	aiss_status status;
	aiss_request got;
	int ok;
};

static int read_full(int fd, void *buf, size_t n)
{
	size_t done = 0;
	while (done < n) {
		ssize_t r = read(fd, (char *)buf + done, n - done);
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

static void *serve(void *arg)
{
	struct fake_server *s = arg;
	uint8_t hdr[AISS_FRAME_HDR], *payload, *out;
	size_t plen, olen;
	aiss_error err;
	aiss_reply rep;
	int fd = accept(s->lfd, NULL, NULL);

	if (fd < 0 || read_full(fd, hdr, sizeof(hdr)) < 0)
		return NULL;
	plen = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 |
	       (size_t)hdr[2] << 8 | hdr[3];
	payload = malloc(plen);
	if (payload && read_full(fd, payload, plen) == 0 &&
	    aiss_request_decode(payload, plen, &s->got, &err) == 0) {
		aiss_reply_init(&rep, s->got.op, s->got.id);
		if (s->status != AISS_OK) {
			aiss_error e;
			aiss_error_set(&e, s->status, "operators only");
			aiss_reply_set_error(&rep, &e);
		}
		if (aiss_reply_encode(&rep, &out, &olen, &err) == 0) {
			if (write(fd, out, olen) == (ssize_t)olen)
				s->ok = 1;
			free(out);
		}
		aiss_reply_clear(&rep);
	}
	free(payload);
	close(fd);
	return NULL;
}

static int start_server(struct fake_server *s, const char *path)
{
	struct sockaddr_un a;

	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	unlink(path);
	s->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(s->lfd, 1) < 0)
		return -1;
	return 0;
}

static gpucheck_report *node_report(int degrade)
{
	gpucheck_report *r = gpucheck_report_create("gpu-a07", "full", 2);
	gpucheck_device_info info;
	gpucheck_measure m;
	gpucheck_floors f;

	memset(&info, 0, sizeof(info));
	snprintf(info.name, sizeof(info.name), "NVIDIA H200");
	memset(&m, 0, sizeof(m));
	m.measured[GPUCHECK_CUBLAS_BF16] = 1;
	m.value[GPUCHECK_CUBLAS_BF16] = 800.25;
	m.measured[GPUCHECK_HBM_COPY] = 1;
	m.value[GPUCHECK_HBM_COPY] = 4.3;
	for (int g = 0; g < 2; g++) {
		gpucheck_report_set_device(r, g, &info, NULL);
		if (degrade && g == 1)
			m.value[GPUCHECK_HBM_COPY] = 2.0;
		gpucheck_report_set_measure(r, g, &m);
	}
	gpucheck_report_set_time(r, 1795395723);
	gpucheck_floors_default(&f);
	gpucheck_report_evaluate(r, &f);
	return r;
}

static void test_sink_sends_capacity(void **state)
{
	char path[108], err[512];
	struct fake_server s;
	pthread_t t;
	gpucheck_report *r = node_report(1);

	memset(&s, 0, sizeof(s));
	snprintf(path, sizeof(path), "/tmp/gpucheck-aissd-%d.sock",
		 (int)getpid());
	assert_int_equal(start_server(&s, path), 0);
	assert_int_equal(pthread_create(&t, NULL, serve, &s), 0);
	assert_int_equal(gpucheck_aissd_sink(path, r, err, sizeof(err)), 0);
	pthread_join(t, NULL);
	close(s.lfd);
	unlink(path);
	assert_true(s.ok);
	assert_int_equal(s.got.op, AISS_OP_CAPACITY_PUT);
	assert_string_equal(s.got.u.capacity.node, "gpu-a07");
	assert_int_equal(s.got.u.capacity.at, 1795395723);
	assert_int_equal(s.got.u.capacity.pass, 0);
	assert_int_equal(s.got.u.capacity.n_gpus, 2);
	assert_int_equal(s.got.u.capacity.bf16_gflops, 1600500);
	assert_string_equal(s.got.u.capacity.summary,
			    "aiss-gpucheck: GPU1 HBM 2.0 TB/s < 3.8");
	gpucheck_report_destroy(r);
}

static void test_sink_reports_refusal(void **state)
{
	char path[108], err[512] = "";
	struct fake_server s;
	pthread_t t;
	gpucheck_report *r = node_report(0);
	char summary[512];
	long long gflops;

	gpucheck_aissd_summary(r, summary, sizeof(summary), &gflops);
	assert_string_equal(summary,
			    "pass (full): 2 GPUs, 1600.5 TFLOPS BF16 measured");
	memset(&s, 0, sizeof(s));
	s.status = AISS_E_PERMISSION;
	snprintf(path, sizeof(path), "/tmp/gpucheck-aissd-%d.sock",
		 (int)getpid());
	assert_int_equal(start_server(&s, path), 0);
	assert_int_equal(pthread_create(&t, NULL, serve, &s), 0);
	assert_int_equal(gpucheck_aissd_sink(path, r, err, sizeof(err)), -1);
	pthread_join(t, NULL);
	close(s.lfd);
	unlink(path);
	assert_non_null(strstr(err, "operators only"));
	/* Nobody listening: a sentence, not a crash. */
	err[0] = '\0';
	assert_int_equal(gpucheck_aissd_sink(path, r, err, sizeof(err)), -1);
	assert_true(strlen(err) > 0);
	gpucheck_report_destroy(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sink_sends_capacity),
	    cmocka_unit_test(test_sink_reports_refusal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
