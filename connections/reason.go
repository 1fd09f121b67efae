package connections

import (
	"fmt"

	tether "github.com/tetherhq/tether"
	"github.com/tetherhq/tether/health"
	"github.com/tetherhq/tether/outbound"
)

// providerReason explains a failed credential test in the provider's own
// words where it gave any, with every secret credential value redacted.
func providerReason(def *tether.ProviderDefinition, res *outbound.VerifyResult, creds tether.Credentials, what string) string {
	msg := fmt.Sprintf("%s %s (HTTP %d)", def.DisplayName, what, res.StatusCode)
	if reason := health.ProviderReason(res.Body); reason != "" {
		msg += ": " + outbound.RedactText(reason, creds, def)
	}
	return msg
}
