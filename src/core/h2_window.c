/* h2_window.c — receive windows of HTTP/2 streams: a stream's window opens
 * at its share of memory and is autotuned from its pace and the session's
 * round trip, measured with PING (docs/design.md "Hot path": large windows,
 * opened only as the reader takes the bytes). */
#include "core/h2_int.h"

#include <string.h>

#include "core/log.h"

/* Window autotuning looks at a stream's pace over at least this long. */
#define H2_TUNE_PERIOD_NS (100ULL * 1000000)
/* The round trip is the least PING sample of this long (paths change). */
#define H2_RTT_WINDOW_NS (10ULL * 1000000000)
/* A round trip older than this is measured again. */
#define H2_RTT_REFRESH_NS (2ULL * 1000000000)
/* A PING unanswered this long is given up and may be sent again. */
#define H2_PING_GIVEUP_NS (30ULL * 1000000000)

static uint64_t (*h2_clock)(void) = uv_hrtime;

uint64_t h2_now(void)
{
	return h2_clock();
}
void h2_set_clock(uint64_t (*now)(void))
{
	h2_clock = now ? now : uv_hrtime;
}

/* The window a new stream gets, and a slow one falls back to: INIT, or
 * the share when that is less. */
static uint32_t window_floor(size_t share)
{
	return share < H2_STREAM_WINDOW_INIT ? (uint32_t)share : H2_STREAM_WINDOW_INIT;
}

/* A stream opens with the initial window of our SETTINGS, H2_SHARE_MIN,
 * and is raised here at once to INIT, or to its share when that is less:
 * a peer's first burst into a new stream is then what the share allows,
 * where an initial window of INIT in SETTINGS let every new stream take
 * INIT however many there were (10,000 streams: 2.5 GB). A bound by
 * construction: bench conc at 1,000 sessions did not move. */
void h2_window_open(h2_stream_t *s)
{
	int32_t w = (int32_t)window_floor(h2_share());
	nghttp2_session *ng = s->sess->ng;
	/* At (about) the smallest share the initial window already is it:
	 * no WINDOW_UPDATE for a few bytes. */
	if (w <= H2_SHARE_MIN + 1024 ||
	    nghttp2_session_set_local_window_size(ng, NGHTTP2_FLAG_NONE, s->id, w) != 0)
		return;
	/* Not yet open in nghttp2 (its HEADERS still queued): stays small
	 * until autotuning finds it fast. */
	if (nghttp2_session_get_stream_effective_local_window_size(ng, s->id) == w)
		s->rwin = (uint32_t)w;
}

static void session_ping(h2_session_t *h, uint64_t now)
{
	if (h->ping_ns && now - h->ping_ns < H2_PING_GIVEUP_NS)
		return;
	uint8_t opaque[8];
	memcpy(opaque, &now, sizeof(opaque));
	if (nghttp2_submit_ping(h->ng, NGHTTP2_FLAG_NONE, opaque) == 0)
		h->ping_ns = now;
}

void h2_rtt_pong(h2_session_t *h, const uint8_t opaque[8])
{
	uint64_t sent;
	memcpy(&sent, opaque, sizeof(sent));
	if (!h->ping_ns || sent != h->ping_ns)
		return; /* not ours, or given up */
	uint64_t now = h2_clock();
	uint64_t sample = now - sent;
	/* The smallest recent sample, not an average: a PING queued behind bulk
	 * data measures that queue, and windows sized by it would let the
	 * queue grow further (bufferbloat). */
	if (!h->rtt_ns || sample <= h->rtt_ns || now - h->rtt_min_at > H2_RTT_WINDOW_NS) {
		h->rtt_ns = sample;
		h->rtt_min_at = now;
	}
	h->rtt_at = now;
	h->ping_ns = 0;
}

/* Every period (H2_TUNE_PERIOD_NS, or four round trips if longer) the
 * stream's window is set from its pace over that period: doubled when two
 * round trips of it no longer fit in half the window (the window, not the
 * reader, may be what holds the sender back), halved when they would fit
 * in an eighth. The pace is taken over a whole period, not per window:
 * a slow reader behind a kernel socket buffer takes bytes in bursts (MBs
 * within a millisecond, then nothing for 200 ms), and a burst is no reason
 * to hold more. */
void h2_window_autotune(h2_stream_t *s, size_t n)
{
	h2_session_t *h = s->sess;
	s->epoch_bytes += n;
	uint64_t now = h2_clock();
	uint64_t took = now - s->epoch_ns;
	uint64_t rtt = h->rtt_ns;
	/* Bounds from the stream's share of memory (h2.h): with few streams
	 * INIT..MAX; under many, a slow stream's window falls to one share,
	 * and none stays above four. */
	size_t share = h2_share();
	uint32_t lo = window_floor(share);
	uint32_t hi = 4 * share < H2_STREAM_WINDOW_MAX ? (uint32_t)(4 * share) : H2_STREAM_WINDOW_MAX;
	bool period = took >= H2_TUNE_PERIOD_NS && took >= 4 * rtt;
	uint32_t w = s->rwin;
	if (period && rtt) {
		/* bytes consumed in two round trips at this pace; no overflow:
		 * both factors stay below 2^32 in any period that is not hours
		 * long */
		uint64_t need = 2 * rtt / 1000 * s->epoch_bytes / (took / 1000);
		if (need > s->rwin / 2)
			w = s->rwin * 2 < hi ? s->rwin * 2 : hi;
		else if (need < s->rwin / 8 && s->rwin > lo)
			w = s->rwin / 2 > lo ? s->rwin / 2 : lo;
	}
	if (w > hi)
		w = hi; /* the share shrank: now, not a period later */
	if (w != s->rwin &&
	    nghttp2_session_set_local_window_size(h->ng, NGHTTP2_FLAG_NONE, s->id, (int32_t)w) == 0) {
		log_debug("h2: stream %d window %u -> %u KiB (%zu KiB in %llu ms, rtt %llu us)", s->id,
			  s->rwin / 1024, w / 1024, s->epoch_bytes / 1024,
			  (unsigned long long)(took / 1000000), (unsigned long long)(rtt / 1000));
		s->rwin = w;
	}
	if (!period)
		return;
	s->epoch_ns = now;
	s->epoch_bytes = 0;
	if (!rtt || now - h->rtt_at > H2_RTT_REFRESH_NS)
		session_ping(h, now);
}

void h2_rtt_ping(h2_session_t *h)
{
	session_ping(h, h2_clock());
}

size_t h2_stream_window(const h2_stream_t *s)
{
	return s->rwin;
}
uint64_t h2_session_rtt(const h2_session_t *h)
{
	return h->rtt_ns;
}
