// Package brokerpkg lists the packages that enable the channel URL schemes this module knows of,
// so that package channel can name the package to import for a scheme whose package is not
// linked into the program.
//
// Everything else package channel knows about a broker comes from the channel.Broker that its
// package registers, which exists only once that package is linked; which package to import is
// the one fact needed precisely when it is not, so it cannot come from there. This list holds that
// fact and nothing more. A test in package channel/channeltest links every broker package of
// this module and checks that the list and the brokers they register agree.
package brokerpkg

import "slices"

// Package is a package that enables some channel URL schemes.
type Package struct {
	// Path is the package's import path.
	Path string
	// Schemes are the URL schemes it enables, in lower case.
	Schemes []string
	// Broker says that the package registers a channel.Broker whose Schemes are Schemes (this
	// module's packages); gocloud's drivers without a hookline package register none.
	Broker bool
	// SendNeeds, when not "", says that a sender of Schemes needs the package's broker even where
	// gocloud's driver for them is linked some other way, and why: how sending without it would
	// be unsafe.
	SendNeeds string
}

// Known lists the packages, each scheme in one entry only.
var Known = []Package{
	{Path: "github.com/hookline/hookline/channel/rabbitmq", Schemes: []string{"rabbitmq"}, Broker: true},
	// gocloud's rabbitpubsub alone publishes transient messages, which a broker restart drops
	// even from a durable queue.
	{Path: "github.com/hookline/hookline/channel/rabbitmq", Schemes: []string{"rabbit"}, Broker: true,
		SendNeeds: "which makes its sends persistent"},
	// Without the package, package channel does not know the attribute limit of SQS and SNS,
	// which a traced message dead-lettered could then pass.
	{Path: "github.com/hookline/hookline/channel/amazonsqs", Schemes: []string{"awssqs", "awssns"}, Broker: true,
		SendNeeds: "which keeps its messages within the 10 message attributes SQS and SNS allow"},
	{Path: "github.com/hookline/hookline/channel/azureservicebus", Schemes: []string{"azuresb", "azuresbqueue"}, Broker: true},
	{Path: "github.com/hookline/hookline/channel/googlepubsub", Schemes: []string{"gcppubsub"}, Broker: true},
	{Path: "gocloud.dev/pubsub/kafkapubsub", Schemes: []string{"kafka"}},
	{Path: "gocloud.dev/pubsub/natspubsub", Schemes: []string{"nats"}},
}

// For returns the package that enables scheme (in lower case), and false when no known package
// does.
func For(scheme string) (Package, bool) {
	for _, p := range Known {
		if slices.Contains(p.Schemes, scheme) {
			return p, true
		}
	}
	return Package{}, false
}
