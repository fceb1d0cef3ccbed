package flagstore

import (
	"context"

	"github.com/launchdarkly/go-sdk-common/v3/ldcontext"
	"github.com/launchdarkly/go-sdk-common/v3/ldreason"
	evaluation "github.com/launchdarkly/go-server-sdk-evaluation/v3"
)

// Evaluate evaluates a flag for an LD context in one environment, in
// process, with LaunchDarkly's own evaluator over the same data the
// environment's SDKs receive, so the result and its reason are what an SDK
// connected to this store would compute. It sees every change committed
// before the call. An unknown, deleted or archived flag is ErrNotFound; an
// invalid context is ErrInvalid. A principal in ctx needs to be able to
// view the project.
func (s *Store) Evaluate(ctx context.Context, proj, env, flag string, c ldcontext.Context) (ldreason.EvaluationDetail, error) {
	d, err := s.sdkDataFor(ctx, proj, env, c)
	if err != nil {
		return ldreason.EvaluationDetail{}, err
	}
	f := d.GetFeatureFlag(flag)
	if f == nil {
		return ldreason.EvaluationDetail{}, notFoundf("Unknown flag %q in environment %q", flag, env)
	}
	return evaluation.NewEvaluator(d).Evaluate(f, c, nil).Detail, nil
}

// EvaluateAll evaluates every live flag of an environment for an LD
// context, as [Store.Evaluate] does one, by flag key.
func (s *Store) EvaluateAll(ctx context.Context, proj, env string, c ldcontext.Context) (map[string]ldreason.EvaluationDetail, error) {
	d, err := s.sdkDataFor(ctx, proj, env, c)
	if err != nil {
		return nil, err
	}
	ev := evaluation.NewEvaluator(d)
	out := make(map[string]ldreason.EvaluationDetail, len(d.flags))
	for key := range d.flags {
		if f := d.GetFeatureFlag(key); f != nil {
			out[key] = ev.Evaluate(f, c, nil).Detail
		}
	}
	return out, nil
}

// sdkDataFor checks the caller and the context and returns the
// environment's current SDK data.
func (s *Store) sdkDataFor(ctx context.Context, proj, env string, c ldcontext.Context) (*sdkData, error) {
	if err := c.Err(); err != nil {
		return nil, invalidf("context", "invalid context: %v", err)
	}
	return s.sdk.data(ctx, sdkRef{proj, env}, func(r *rtx) error { return s.authorizeView(ctx, r, proj) })
}
