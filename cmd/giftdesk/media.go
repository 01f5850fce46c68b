package main

import (
	"crypto/sha256"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/giftdesk/giftdesk/bot"
)

// mediaConfig is how giftdesk serve carries photos and files in hand-offs.
type mediaConfig struct {
	// PublicURL is where LINE (and customers) reach giftdesk, for the signed links to
	// agents' files; empty: agents' files are not sent, and the thread is told.
	PublicURL string
	// Key signs the links; default derived from the LINE channel secret, so that every
	// replica signs alike.
	Key     []byte
	LinkTTL time.Duration
	// Limits bound what of a customer's media reaches the ticket's thread.
	Limits bot.MediaLimits
	// LineData is LINE's content host.
	LineData string
}

// loadMediaConfig reads GIFTDESK_PUBLIC_URL, GIFTDESK_MEDIA_KEY, GIFTDESK_MEDIA_LINK_TTL,
// GIFTDESK_MEDIA_MAX_BYTES, GIFTDESK_MEDIA_KINDS and LINE_API_DATA_BASE_URL.
func loadMediaConfig(getenv func(string) string, lineSecret string) (mediaConfig, []error) {
	var errs []error
	c := mediaConfig{PublicURL: strings.TrimSuffix(getenv("GIFTDESK_PUBLIC_URL"), "/"),
		LineData: lineDataURL(getenv), LinkTTL: 7 * 24 * time.Hour}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		local := err == nil && (u.Hostname() == "localhost" || net.ParseIP(u.Hostname()).IsLoopback())
		if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && local)) || u.RawQuery != "" {
			errs = append(errs, fmt.Errorf("GIFTDESK_PUBLIC_URL=%q: want the https URL where LINE reaches giftdesk, such as https://giftdesk.example.com", urlForError(c.PublicURL)))
		}
	}
	if k := getenv("GIFTDESK_MEDIA_KEY"); k != "" {
		if len(k) < 16 {
			errs = append(errs, fmt.Errorf("GIFTDESK_MEDIA_KEY: want at least 16 characters"))
		}
		c.Key = []byte(k)
	} else {
		sum := sha256.Sum256([]byte("giftdesk media links\x00" + lineSecret))
		c.Key = sum[:]
	}
	if v := getenv("GIFTDESK_MEDIA_LINK_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Minute {
			errs = append(errs, fmt.Errorf("GIFTDESK_MEDIA_LINK_TTL=%q: want a duration of at least 1m, such as 168h", v))
		}
		c.LinkTTL = d
	}
	if v := getenv("GIFTDESK_MEDIA_MAX_BYTES"); v != "" {
		n, err := parseSize(v)
		if err != nil || n < 1 || n > 1<<30 {
			errs = append(errs, fmt.Errorf("GIFTDESK_MEDIA_MAX_BYTES=%q: want a size from 1 to 1GiB, such as 10MiB", v))
		}
		c.Limits.MaxBytes = n
	}
	if v := getenv("GIFTDESK_MEDIA_KINDS"); v != "" {
		c.Limits.Kinds = []bot.MediaKind{}
		for _, k := range strings.Split(v, ",") {
			switch k = strings.TrimSpace(k); bot.MediaKind(k) {
			case bot.MediaImage, bot.MediaVideo, bot.MediaAudio, bot.MediaFile:
				c.Limits.Kinds = append(c.Limits.Kinds, bot.MediaKind(k))
			case "none":
			default:
				errs = append(errs, fmt.Errorf("GIFTDESK_MEDIA_KINDS=%q: want a comma-separated list of image, video, audio, file (or none)", v))
			}
		}
	}
	if u, err := url.Parse(c.LineData); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("LINE_API_DATA_BASE_URL=%q: want an http(s) URL", urlForError(c.LineData)))
	}
	return c, errs
}

// unreadableNode is the flow node whose steps answer a photo of a code that cannot be
// read (the customer-service steps), when the flow has it.
const unreadableNode = "advice_unreadable"
