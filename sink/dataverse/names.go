package dataverse

import (
	"slices"
	"strings"
)

// vocabulary holds words column names are commonly made of, so that Setup can give a column
// like new_stripecustomerid the schema name new_StripeCustomerId and the label "Stripe
// customer id". A part of a name that is not made entirely of these words stays one word.
var vocabulary = strings.Fields(`
	stripe customer event created updated deleted id payment intent invoice subscription amount
	currency status state time date name email phone number total price product charge refund
	account object type key description country city postal code balance due paid period start
	end plan quantity method source sender message webhook external reference order item count
	last first url address line session checkout mode metadata reason receipt version value unit
	tax discount coupon fee net card brand bank interval trial canceled cancelled at on by`)

// splitWords splits part into the fewest vocabulary words that make it up exactly; a part that
// is not made of them is returned whole.
func splitWords(part string) []string {
	best := make([][]string, len(part)+1)
	best[0] = []string{}
	for i := range len(part) {
		if best[i] == nil {
			continue
		}
		for _, w := range vocabulary {
			j := i + len(w)
			if j <= len(part) && part[i:j] == w && (best[j] == nil || len(best[i])+1 < len(best[j])) {
				best[j] = append(slices.Clone(best[i]), w)
			}
		}
	}
	if part == "" || best[len(part)] == nil {
		return []string{part}
	}
	return best[len(part)]
}

// schemaAndLabel returns the schema name and display label Setup gives a column or key whose
// logical name has a customization prefix: new_stripecustomerid is new_StripeCustomerId,
// "Stripe customer id". The schema name lower-cased is the logical name.
func schemaAndLabel(logical string) (schema, label string) {
	prefix, rest, _ := strings.Cut(logical, "_")
	var parts, words []string
	for _, part := range strings.Split(rest, "_") {
		ws := splitWords(part)
		var b strings.Builder
		for _, w := range ws {
			b.WriteString(title(w))
		}
		parts = append(parts, b.String())
		if part != "" {
			words = append(words, ws...)
		}
	}
	return prefix + "_" + strings.Join(parts, "_"), title(strings.Join(words, " "))
}

// title upper-cases the first letter of an ASCII word.
func title(w string) string {
	if w == "" {
		return w
	}
	return strings.ToUpper(w[:1]) + w[1:]
}
