package connections

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	tether "github.com/tetherhq/tether"
	"github.com/tetherhq/tether/outbound"
)

// maxReason bounds the provider's words quoted back to the user.
const maxReason = 300

// providerReason explains a failed credential test in the provider's own
// words where it gave any, with every secret credential value redacted.
func providerReason(def *tether.ProviderDefinition, res *outbound.VerifyResult, creds tether.Credentials, what string) string {
	msg := fmt.Sprintf("%s %s (HTTP %d)", def.DisplayName, what, res.StatusCode)
	if reason := reasonFromBody(res.Body); reason != "" {
		msg += ": " + outbound.RedactText(reason, creds, def)
	}
	return msg
}

// reasonFromBody finds a human message in a JSON error body, looking at the
// members providers commonly use; otherwise it returns short plain text.
func reasonFromBody(body []byte) string {
	var v any
	if json.Unmarshal(body, &v) != nil {
		text := strings.TrimSpace(string(body))
		if text == "" || strings.HasPrefix(text, "<") || !utf8.ValidString(text) {
			return ""
		}
		return truncate(text)
	}
	for _, path := range []string{"message", "error_description", "error.message", "detail", "errors.0.message", "errors.0.detail", "error", "title"} {
		if found, ok := tether.LookupPath(v, path); ok {
			if s, ok := found.(string); ok && s != "" {
				return truncate(s)
			}
		}
	}
	return ""
}

func truncate(s string) string {
	if len(s) <= maxReason {
		return s
	}
	cut := maxReason
	for !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// snapshot is the JSON of a connection, to tell whether a change changed it.
func snapshot(c *tether.Connection) string {
	b, _ := json.Marshal(c)
	return string(b)
}
