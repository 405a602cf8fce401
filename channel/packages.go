package channel

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hookline/hookline/internal/brokerpkg"
)

// A broker's package, when linked, registers its [Broker]; which package to import is needed
// precisely when it is not, so that fact comes from the list of the packages this module knows
// of (package internal/brokerpkg), used here for errors only.

// checkBroker fails when a sender of scheme needs a registered broker and has none (b is nil):
// gocloud's driver for the scheme is linked, but not the package that makes its sends safe.
func checkBroker(b *Broker, scheme string) error {
	if b != nil {
		return nil
	}
	if p, ok := brokerpkg.For(scheme); ok && p.SendNeeds != "" {
		return fmt.Errorf("%s:// needs package %s, %s: import _ %q in your main package",
			scheme, p.Path, p.SendNeeds, p.Path)
	}
	return nil
}

// driverHint tells which package to import when gocloud has no driver for the URL's scheme (err
// says "no driver registered"), or else which schemes there are.
func driverHint(urlstr string, err error) string {
	if !strings.Contains(err.Error(), "no driver registered") {
		return ""
	}
	scheme := schemeOf(urlstr)
	if p, ok := brokerpkg.For(scheme); ok {
		return fmt.Sprintf(` (import _ %q in your main package to enable %s://)`, p.Path, scheme)
	}
	return " (supported schemes: " + strings.Join(knownSchemes(), ", ") + ")"
}

// knownSchemes returns, sorted, the schemes of the registered brokers and of this module's
// broker packages, linked or not.
func knownSchemes() []string {
	var schemes []string
	for _, b := range registeredBrokers() {
		schemes = append(schemes, b.Schemes...)
	}
	for _, p := range brokerpkg.Known {
		if p.Broker {
			schemes = append(schemes, p.Schemes...)
		}
	}
	slices.Sort(schemes)
	return slices.Compact(schemes)
}
