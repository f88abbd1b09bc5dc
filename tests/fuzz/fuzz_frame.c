/* SPDX-License-Identifier: GPL-2.0-or-later */
/* fuzz_frame: libFuzzer target for aissd's input path: the length-prefixed
 * frame splitter and the request/reply decoders (with a re-encode check). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aiss_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static aiss_request req, again;
	aiss_reply rep;
	aiss_error err;
	size_t off = 0;

	/* Split a stream the way aissd does; stop at the first violation. */
	while (off < size) {
		size_t plen = 0;
		int fr = aiss_frame_check(data + off, size - off, &plen);
		if (fr <= 0)
			break;
		const uint8_t *p = data + off + AISS_FRAME_HDR;
		if (aiss_request_decode(p, plen, &req, &err) == 0) {
			/* what decodes must encode and decode to the same */
			uint8_t *f = NULL;
			size_t n = 0;
			if (aiss_request_encode(&req, &f, &n, &err) == 0) {
				if (aiss_request_decode(f + AISS_FRAME_HDR,
							n - AISS_FRAME_HDR,
							&again, &err) != 0 ||
				    again.op != req.op || again.id != req.id)
					abort();
				free(f);
			}
		}
		if (aiss_reply_decode(p, plen, &rep, &err) == 0) {
			uint8_t *f = NULL;
			size_t n = 0;
			if (aiss_reply_encode(&rep, &f, &n, &err) == 0)
				free(f);
			aiss_reply_clear(&rep);
		}
		off += AISS_FRAME_HDR + plen;
	}
	/* The whole input as one payload too (no prefix). */
	if (size <= AISS_FRAME_MAX) {
		aiss_request_decode(data, size, &req, &err);
		if (aiss_reply_decode(data, size, &rep, &err) == 0)
			aiss_reply_clear(&rep);
	}
	return 0;
}
