package channel

// Receiver returns the receiver the consumer was built on, so that what runs the consumer (a
// server's readiness probe, its shutdown) need not be given it a second time.
func (c *Consumer) Receiver() *Receiver { return c.recv }

// DeadLetter returns the consumer's dead-letter sender (ConsumerOptions.DeadLetter), or nil.
func (c *Consumer) DeadLetter() *Sender { return c.opts.DeadLetter }
