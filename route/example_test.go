package route_test

import (
	"fmt"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/route"
)

func Example() {
	file := []byte(`
routes:
  - name: contacts
    types: ["customer.*"]
    filter: event.data.livemode == false
    sink: ${CONTACTS_SINK}
    map:
      email: event.data.email
      firstname: event.data.name.split(' ')[0]
      balance: int(event.data.balance)
      created: event.time
`)
	// Load and Parse read os.LookupEnv when given nil.
	lookup := func(name string) (string, bool) {
		v, ok := map[string]string{"CONTACTS_SINK": "stdout://"}[name]
		return v, ok
	}
	cfg, err := route.Parse(file, "hookline.yaml", lookup)
	if err != nil {
		panic(err)
	}
	routes, err := route.CompileAll(cfg)
	if err != nil {
		panic(err)
	}
	e := route.NewEvent(hookline.Event{
		ID: "evt_1", Source: "stripe", Type: "customer.created", Subject: "cus_1",
		Time: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC),
		Data: []byte(`{"id":"cus_1","email":"jenny@example.com","name":"Jenny Rosen","balance":-250,"livemode":false}`),
	})
	for _, r := range routes {
		ok, err := r.Match(e)
		fmt.Println(r.Name(), r.Sink(), ok, err)
		for _, c := range r.Columns() {
			fmt.Printf("  %s: %s\n", c.Name, c.Kind)
		}
		vals, err := r.Values(e)
		fmt.Println(" ", vals["email"], vals["firstname"], vals["balance"], vals["created"], err)
	}
	// Output:
	// contacts stdout:// true <nil>
	//   email: any
	//   firstname: text
	//   balance: integer
	//   created: time
	//   jenny@example.com Jenny -250 2024-03-01 12:00:00 +0000 UTC <nil>
}

func ExampleCompileAll_errors() {
	cfg, err := route.Parse([]byte(`
routes:
  - name: contacts
    sink: stdout://
    filter: event.data.livemode
    map:
      email: event.dat.email
      first: event.data.name.splitt(' ')
`), "hookline.yaml", nil)
	if err != nil {
		panic(err)
	}
	_, err = route.CompileAll(cfg)
	fmt.Println(err)
	// Output:
	// route: hookline.yaml:7:14: route "contacts": column "email": undefined field 'dat' (at column 6 of the expression)
	// route: hookline.yaml:8:14: route "contacts": column "first": undeclared reference to 'splitt' (at column 23 of the expression)
}
