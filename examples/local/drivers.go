package main

// Brokers that HOOKLINE_CHANNEL and HOOKLINE_SUBSCRIPTION may name besides mem://. Each is enabled
// the gocloud way, by importing its driver; a program of your own imports only those it uses.
import (
	_ "gocloud.dev/pubsub/awssnssqs"    // awssqs:// and awssns://
	_ "gocloud.dev/pubsub/azuresb"      // azuresb://
	_ "gocloud.dev/pubsub/rabbitpubsub" // rabbit:// (server from RABBIT_SERVER_URL)
)
