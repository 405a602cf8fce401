package main

// Sources that HOOKLINE_SOURCE may name, brokers that HOOKLINE_CHANNEL and
// HOOKLINE_SUBSCRIPTION may name besides mem:// and inproc://, and sinks that HOOKLINE_SINK may
// name besides stdout:// and discard://. Each is enabled the gocloud way, by importing its
// package; a program of your own imports only those it uses.
import (
	_ "gocloud.dev/pubsub/rabbitpubsub" // rabbit:// (server from RABBIT_SERVER_URL)

	_ "github.com/hookline/hookline/channel/amazonsqs"        // awssqs://, awssns://, SQS delivery counts
	_ "github.com/hookline/hookline/channel/azureservicebus"  // azuresb://, azuresbqueue://, Service Bus delivery counts
	_ "github.com/hookline/hookline/channel/googlepubsub"     // gcppubsub://, Pub/Sub delivery attempts
	_ "github.com/hookline/hookline/channel/rabbitmq"         // rabbitmq:// (hookline's driver) and gocloud's rabbit://, persistent
	_ "github.com/hookline/hookline/emitter/standardwebhooks" // HOOKLINE_SOURCE=standardwebhooks:// (OpenAI, Twilio, Clerk, ...)
	_ "github.com/hookline/hookline/emitter/stripehook"       // HOOKLINE_SOURCE=stripe:// (the default)
	_ "github.com/hookline/hookline/sink/dataverse"           // dataverse://
	_ "github.com/hookline/hookline/sink/sqlsink"             // sqlite:// and postgres://
)
