/* ws.h — RFC 6455 WebSocket framing, our own (see docs/design.md "Hot
 * path": measured 13x faster unmasking than wslay).
 *
 * The decoder is streaming and zero-copy: it parses frames in place in the
 * caller's buffer, unmasks payload bytes in place 8 bytes at a time and hands
 * back views of them, so a frame never has to fit in a buffer. Only control
 * frames (<= 125 bytes) are gathered in the decoder. It never reads outside
 * [p, p+n). */
#ifndef BURROW_WS_H
#define BURROW_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ws_opcode {
	WS_OP_CONT = 0x0,
	WS_OP_TEXT = 0x1,
	WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8,
	WS_OP_PING = 0x9,
	WS_OP_PONG = 0xA,
};

enum ws_event_type {
	WS_EV_DATA = 1, /* payload bytes of a text/binary message (possibly a piece) */
	WS_EV_PING,     /* complete ping; payload in ev->data (<= 125 bytes) */
	WS_EV_PONG,     /* complete pong */
	WS_EV_CLOSE,    /* close frame; ev->close_code (1005 when absent), reason in ev->data */
};

typedef struct ws_event {
	enum ws_event_type type;
	const uint8_t *data; /* DATA: points into caller's buffer (unmasked in place);
				control: points into the decoder */
	size_t len;
	uint16_t close_code;
	bool msg_end; /* DATA: this piece ends the message (FIN frame, last byte) */
	/* DATA with defer_unmask: data is still masked; the caller unmasks it
	 * with ws_mask_copy(dst, data, len, mask, mask_pos). */
	bool masked;
	uint8_t mask[4];
	uint64_t mask_pos;
} ws_event_t;

typedef struct ws_decoder {
	bool server; /* true: we are the server, peer frames must be masked;
			false: we are the client, peer frames must be unmasked */
	/* Set after ws_decoder_init: DATA payload is left masked for the caller
	 * to unmask while it copies it elsewhere (one pass instead of two). */
	bool defer_unmask;
	/* private parse state */
	uint8_t hdr[14];
	uint8_t hdr_len;
	uint8_t opcode;
	bool fin;
	bool masked;
	uint8_t mask[4];
	uint64_t remaining; /* payload bytes left in the current frame */
	uint64_t mask_pos;  /* payload offset, for mask phase */
	bool in_frame;      /* header parsed, payload pending */
	bool in_message;    /* a fragmented text/binary message is open */
	uint8_t ctl[125];
	uint8_t ctl_len;
} ws_decoder_t;

void ws_decoder_init(ws_decoder_t *d, bool server);

/* Decodes from p[0..n). On return *consumed bytes of p have been used.
 * Returns 1 when *ev holds an event, 0 when all input was consumed without an
 * event (need more bytes), or a negative error (ERR_PROTO: bad framing,
 * unmasked client frame, masked server frame, reserved bits or opcodes,
 * control frame > 125 bytes or fragmented, continuation without a message,
 * new message inside a fragmented one, bad close payload). Call again with
 * the rest of the input after each event. p must be writable (unmasking is in
 * place). */
int ws_decode(ws_decoder_t *d, uint8_t *p, size_t n, size_t *consumed, ws_event_t *ev);

/* Close code of a session the edge ends because it is no longer allowed (RFC
 * 6455 7.4.1: policy violation); the reason says why (burrow's edge ->
 * client convention). A reason fits a control frame less the code. */
#define WS_CLOSE_POLICY 1008
/* ... or because its path through the edge broke (1011: the tunnel
 * connection it ran on is dead); the reason says why, as above. */
#define WS_CLOSE_UNAVAILABLE 1011
#define WS_CLOSE_REASON_MAX 123

/* A fresh masking key for a client frame (RFC 6455 5.3), from a pool of
 * RAND_bytes output. */
void ws_mask_key(uint8_t mask[4]);
/* Writes a frame header into out (<= 14 bytes) and returns its length. When
 * mask is non-NULL the MASK bit and key are written too (client frames). */
size_t ws_frame_header(uint8_t out[14], enum ws_opcode op, bool fin, uint64_t len, const uint8_t mask[4]);

/* XORs p[0..n) with mask, where p starts at payload offset pos. 8 bytes at a
 * time. */
void ws_mask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t pos);
/* The same while copying src to dst (equal or not overlapping): one pass
 * where a copy and ws_mask would make two. */
void ws_mask_copy(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t mask[4], uint64_t pos);

/* Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA1(key + GUID)).
 * out gets 28 chars + NUL. */
void ws_accept_key(const char *key, size_t key_len, char out[29]);

/* True when key is a valid Sec-WebSocket-Key (base64 of 16 bytes, 24 chars). */
bool ws_key_valid(const char *key, size_t key_len);

/* Makes a fresh random Sec-WebSocket-Key (24 chars + NUL). */
void ws_make_key(char out[25]);

#endif
