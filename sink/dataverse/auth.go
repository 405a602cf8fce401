package dataverse

import (
	"context"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/hookline/hookline"
)

// refreshMargin is how long before its expiry a cached token is replaced.
const refreshMargin = 3 * time.Minute

// tokenSource hands out one shared bearer token, fetched from a credential and cached until
// shortly before it expires, or a static token.
type tokenSource struct {
	cred   azcore.TokenCredential // nil for a static token
	static string
	scope  string
	now    func() time.Time

	lock chan struct{} // a one-slot semaphore guarding tok and exp that respects ctx
	tok  string
	exp  time.Time
}

func newTokenSource(cred azcore.TokenCredential, static, scope string, now func() time.Time) *tokenSource {
	return &tokenSource{cred: cred, static: static, scope: scope, now: now, lock: make(chan struct{}, 1)}
}

// token returns a token valid for a while yet.
func (ts *tokenSource) token(ctx context.Context) (string, error) {
	if ts.cred == nil {
		return ts.static, nil
	}
	select {
	case ts.lock <- struct{}{}:
		defer func() { <-ts.lock }()
	case <-ctx.Done():
		return "", ctx.Err()
	}
	if ts.tok != "" && ts.now().Add(refreshMargin).Before(ts.exp) {
		return ts.tok, nil
	}
	at, err := ts.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{ts.scope}})
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		// Unknown, not Permanent: a wrong secret or a missing role assignment is fixed by
		// configuration, and the events must wait for it rather than be dead-lettered.
		return "", hookline.Errorf(hookline.Unknown, "dataverse: cannot get a token for %s: %w", ts.scope, err)
	}
	ts.tok, ts.exp = at.Token, at.ExpiresOn
	return ts.tok, nil
}

// invalidate forgets tok if it is the cached token, so the next call fetches a new one.
func (ts *tokenSource) invalidate(ctx context.Context, tok string) {
	if ts.cred == nil {
		return
	}
	select {
	case ts.lock <- struct{}{}:
		defer func() { <-ts.lock }()
	case <-ctx.Done():
		return
	}
	if ts.tok == tok {
		ts.tok = ""
	}
}

// refusedError explains a 401 that a fresh token did not cure.
func (ts *tokenSource) refusedError(what string) error {
	if ts.cred == nil {
		return hookline.Errorf(hookline.Unknown, "dataverse: %s: 401 Unauthorized: the static token (%s or "+
			"Options.Token) was refused: it may have expired or be for another environment than %s",
			what, EnvToken, ts.scope)
	}
	return hookline.Errorf(hookline.Unknown, "dataverse: %s: 401 Unauthorized with a freshly fetched token "+
		"for %s: the most likely cause is that the app registration has no application user in this "+
		"Dataverse environment, or that user has no security role (Power Platform admin center: "+
		"Environments, your environment, Settings, Users + permissions, Application users)", what, ts.scope)
}

// scopeFor returns the token scope of a Dataverse environment host.
func scopeFor(host string) string { return fmt.Sprintf("https://%s/.default", host) }
