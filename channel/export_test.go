package channel

// UnregisterBroker lets external tests remove the brokers they register.
var UnregisterBroker = unregisterBroker
