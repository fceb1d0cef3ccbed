package flagstore

import (
	"context"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flagstore/flagstore/internal/resource"
)

// envDoc is the stored form of an environment: the representation plus the
// retired credentials that stay valid until their expiry.
type envDoc struct {
	Environment
	Retired []retiredKey `json:"retiredKeys,omitempty"`
}

// retiredKey is an old SDK or mobile key kept valid until Expires (ms).
type retiredKey struct {
	Kind    string `json:"kind"`
	Key     string `json:"key"`
	Expires int64  `json:"expires"`
}

// credential is the value stored under a c/ key.
type credential struct {
	Project     string `json:"project"`
	Environment string `json:"environment"`
	Expires     int64  `json:"expires,omitempty"`
}

func envIndex(proj string) index { return index{coll: "e", scope: proj} }

func envEntry(e *Environment) *entryOf {
	return &entryOf{key: e.Key, name: e.Name, created: e.CreationDate, tags: e.Tags}
}

// validEnvironmentPost checks an environment's create body.
func validEnvironmentPost(attr string, p *EnvironmentPost) *Error {
	if err := validKey(attr+".key", p.Key); err != nil {
		return err
	}
	if err := validName(attr+".name", p.Name); err != nil {
		return err
	}
	if err := validColor(attr+".color", p.Color); err != nil {
		return err
	}
	if p.DefaultTTL < 0 {
		return invalidf(attr+".defaultTtl", "defaultTtl must not be negative")
	}
	return validTags(attr+".tags", p.Tags)
}

// validColor accepts six hex digits without '#', as LaunchDarkly stores them.
func validColor(attr, c string) *Error {
	if len(c) != 6 {
		return invalidf(attr, "color must be six hex digits, like F5A623")
	}
	for i := 0; i < 6; i++ {
		ch := c[i]
		if !(ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'f' || ch >= 'A' && ch <= 'F') {
			return invalidf(attr, "color must be six hex digits, like F5A623")
		}
	}
	return nil
}

// CreateEnvironment adds an environment to a project, with fresh
// credentials, and gives every flag of the project a configuration in it.
func (s *Store) CreateEnvironment(ctx context.Context, proj string, p EnvironmentPost) (Environment, error) {
	if err := validEnvironmentPost("", &p); err != nil {
		return Environment{}, trimAttr(err)
	}
	var env Environment
	err := s.update(ctx, func(w *wtx) error {
		var pr Project
		if _, err := getProject(&w.rtx, proj, &pr); err != nil {
			return err
		}
		var err error
		if env, err = s.createEnvironmentIn(w, proj, p); err != nil {
			return err
		}
		masked := maskEnv(env)
		return s.record(w, change{kind: "environment", verb: "created", name: env.Name, resource: envRes(proj, env.Key),
			parent: &AuditParent{Name: pr.Name, Resource: projRes(proj)}, accesses: accessesOf(envRes(proj, env.Key), "createEnvironment"),
			after: &masked})
	})
	if err != nil {
		return Environment{}, err // a refused call shows nothing
	}
	return env, nil
}

// createEnvironmentIn writes a new environment, its credentials and index
// entries, and a default configuration for every existing flag.
func (s *Store) createEnvironmentIn(w *wtx, proj string, p EnvironmentPost) (Environment, error) {
	if ok, err := w.exists(envKey(proj, p.Key)); err != nil || ok {
		if ok {
			return Environment{}, existsf("An environment with key %q already exists in project %q", p.Key, proj)
		}
		return Environment{}, err
	}
	env := Environment{
		ID:                 s.newID(),
		Key:                p.Key,
		Name:               p.Name,
		APIKey:             "sdk-" + s.newUUID(),
		MobileKey:          "mob-" + s.newUUID(),
		Color:              p.Color,
		DefaultTTL:         p.DefaultTTL,
		SecureMode:         p.SecureMode,
		DefaultTrackEvents: p.DefaultTrackEvents,
		RequireComments:    p.RequireComments,
		ConfirmChanges:     p.ConfirmChanges,
		Tags:               nonNil(slices.Clone(p.Tags)),
		Critical:           p.Critical,
		CreationDate:       s.nowMillis(),
		Version:            1,
	}
	if err := w.put(envKey(proj, p.Key), &envDoc{Environment: env}, 0); err != nil {
		return Environment{}, err
	}
	for kind, cred := range map[string]string{credSDK: env.APIKey, credMobile: env.MobileKey, credClientID: env.ID} {
		if err := w.put(credKey(kind, cred), credential{Project: proj, Environment: env.Key}, 0); err != nil {
			return Environment{}, err
		}
	}
	if err := envIndex(proj).reindex(w, nil, envEntry(&env)); err != nil {
		return Environment{}, err
	}
	now := s.nowMillis()
	return env, eachFlagUpdate(w, proj, func(f *Flag) {
		f.Environments[env.Key] = s.newConfig(f, &env, false, now)
	})
}

// GetEnvironment returns one environment of a project.
func (s *Store) GetEnvironment(ctx context.Context, proj, key string) (Environment, error) {
	var d envDoc
	err := s.view(ctx, func(r *rtx) error {
		if _, err := getEnv(r, proj, key, &d); err != nil {
			return err
		}
		if err := s.authorizeView(ctx, r, proj); err != nil {
			return err
		}
		if !s.mayViewSDKKeys(ctx, r, proj, key) {
			d.Environment = maskEnv(d.Environment)
		}
		return nil
	})
	if err != nil {
		return Environment{}, err // a refused call shows nothing
	}
	return d.Environment, nil
}

func getEnv(r *rtx, proj, key string, d *envDoc) (uint64, error) {
	v, err := r.get(envKey(proj, key), d)
	if err != nil {
		if _, perr := getProject(r, proj, &Project{}); perr != nil {
			return 0, perr
		}
		return 0, notFoundOr(err, "Unknown environment %q in project %q", key, proj)
	}
	return v, nil
}

// ListEnvironments lists a project's environments, by default oldest first.
func (s *Store) ListEnvironments(ctx context.Context, proj string, o ListOptions) (List[Environment], error) {
	var out List[Environment]
	err := s.view(ctx, func(r *rtx) error {
		if _, err := getProject(r, proj, &Project{}); err != nil {
			return err
		}
		if err := s.authorizeView(ctx, r, proj); err != nil {
			return err
		}
		keys, total, err := envIndex(proj).page(r, o, "creationDate")
		if err != nil {
			return err
		}
		out = List[Environment]{Items: make([]Environment, 0, len(keys)), TotalCount: total}
		for _, k := range keys {
			var d envDoc
			if _, err := getEnv(r, proj, k, &d); err != nil {
				return err
			}
			if !s.mayViewSDKKeys(ctx, r, proj, k) {
				d.Environment = maskEnv(d.Environment)
			}
			out.Items = append(out.Items, d.Environment)
		}
		return nil
	})
	return out, err
}

// UpdateEnvironment applies fn to a copy of the environment and stores the
// result if it is valid. Key, ID, credentials and creation date cannot
// change (credentials change through the reset calls); Version rises by one.
func (s *Store) UpdateEnvironment(ctx context.Context, proj, key string, fn func(*Environment) error) (Environment, error) {
	var out Environment
	err := s.update(ctx, func(w *wtx) error {
		var d envDoc
		ver, err := getEnv(&w.rtx, proj, key, &d)
		if err != nil {
			return err
		}
		before := d.Environment
		after := d.Environment
		after.Tags = nonNil(slices.Clone(before.Tags)) // [] not null, so "/tags/0" can be added to
		if err := fn(&after); err != nil {
			return err
		}
		switch {
		case after.Key != before.Key:
			return invalidf("key", "an environment's key cannot change")
		case after.ID != before.ID:
			return invalidf("_id", "_id is read-only")
		case after.APIKey != before.APIKey, after.MobileKey != before.MobileKey:
			return invalidf("apiKey", "SDK and mobile keys change only through a reset")
		case after.CreationDate != before.CreationDate:
			return invalidf("creationDate", "creationDate is read-only")
		case after.Version != before.Version:
			return invalidf("version", "version is read-only")
		}
		post := EnvironmentPost{Key: after.Key, Name: after.Name, Color: after.Color, DefaultTTL: after.DefaultTTL, Tags: after.Tags}
		if err := validEnvironmentPost("", &post); err != nil {
			return trimAttr(err)
		}
		after.Tags = nonNil(after.Tags)
		if reflect.DeepEqual(before, after) {
			out = before
			if err := s.authorizeView(w.ctx, &w.rtx, proj); err != nil {
				return err // the result is a read
			}
			s.maskUnlessSDKKeysVisible(w, proj, &out)
			return nil
		}
		after.Version++
		d.Environment = after
		if err := w.put(envKey(proj, key), &d, ver); err != nil {
			return err
		}
		out = after
		if err := envIndex(proj).reindex(w, envEntry(&before), envEntry(&after)); err != nil {
			return err
		}
		if err := s.recordEnv(w, proj, "updated", &before, &after, changedActions(environmentFieldActions, &before, &after)...); err != nil {
			return err
		}
		s.maskUnlessSDKKeysVisible(w, proj, &out)
		return nil
	})
	if err != nil {
		return Environment{}, err // a refused call shows nothing
	}
	return out, nil
}

// DeleteEnvironment deletes an environment, its segments and credentials,
// and every flag's configuration in it. A project keeps at least one
// environment.
func (s *Store) DeleteEnvironment(ctx context.Context, proj, key string) error {
	return s.update(ctx, func(w *wtx) error {
		var d envDoc
		if _, err := getEnv(&w.rtx, proj, key, &d); err != nil {
			return err
		}
		n, err := w.count("n/e/" + proj + "/l/all")
		if err != nil {
			return err
		}
		if n <= 1 {
			return invalidf("environmentKey", "the last environment of a project cannot be deleted")
		}
		if err := deleteCredentials(w, proj, &d); err != nil {
			return err
		}
		for _, prefix := range []string{segPrefix(proj, key), segTombPrefix(proj, key), "x/s/" + proj + sep + key + sep, "n/s/" + proj + sep + key + sep, "r/s/" + proj + sep + key + sep} {
			if err := w.delUnder(prefix); err != nil {
				return err
			}
		}
		if err := w.del(envKey(proj, key)); err != nil {
			return err
		}
		if err := envIndex(proj).reindex(w, envEntry(&d.Environment), nil); err != nil {
			return err
		}
		if err := eachFlagUpdate(w, proj, func(f *Flag) { delete(f.Environments, key) }); err != nil {
			return err
		}
		return s.recordEnv(w, proj, "deleted", &d.Environment, nil, "deleteEnvironment")
	})
}

// deleteCredentials removes every credential key of an environment.
func deleteCredentials(w *wtx, proj string, d *envDoc) error {
	keys := []string{credKey(credSDK, d.APIKey), credKey(credMobile, d.MobileKey), credKey(credClientID, d.ID)}
	for _, r := range d.Retired {
		keys = append(keys, credKey(r.Kind, r.Key))
	}
	for _, k := range keys {
		if err := w.del(k); err != nil {
			return err
		}
	}
	return nil
}

// ResetSDKKey gives the environment a new server-side SDK key. With a
// non-zero expiry the old key keeps working until then; otherwise it stops
// at once.
func (s *Store) ResetSDKKey(ctx context.Context, proj, env string, expiry time.Time) (Environment, error) {
	return s.resetKey(ctx, proj, env, credSDK, expiry)
}

// ResetMobileKey gives the environment a new mobile key, like ResetSDKKey.
func (s *Store) ResetMobileKey(ctx context.Context, proj, env string, expiry time.Time) (Environment, error) {
	return s.resetKey(ctx, proj, env, credMobile, expiry)
}

func (s *Store) resetKey(ctx context.Context, proj, env, kind string, expiry time.Time) (Environment, error) {
	var out Environment
	err := s.update(ctx, func(w *wtx) error {
		var d envDoc
		ver, err := getEnv(&w.rtx, proj, env, &d)
		if err != nil {
			return err
		}
		before := d.Environment
		now := s.nowMillis()
		if !expiry.IsZero() && expiry.UnixMilli() <= now {
			return invalidf("expiry", "expiry must be in the future")
		}
		// Drop retired keys whose time has passed.
		kept := d.Retired[:0]
		for _, r := range d.Retired {
			if r.Expires > now {
				kept = append(kept, r)
			} else if err := w.del(credKey(r.Kind, r.Key)); err != nil {
				return err
			}
		}
		d.Retired = kept
		slot, prefix := &d.APIKey, "sdk-"
		if kind == credMobile {
			slot, prefix = &d.MobileKey, "mob-"
		}
		old := *slot
		*slot = prefix + s.newUUID()
		if expiry.IsZero() {
			err = w.del(credKey(kind, old))
		} else {
			d.Retired = append(d.Retired, retiredKey{Kind: kind, Key: old, Expires: expiry.UnixMilli()})
			err = w.put(credKey(kind, old), credential{Project: proj, Environment: env, Expires: expiry.UnixMilli()}, storeAny)
		}
		if err != nil {
			return err
		}
		if err := w.put(credKey(kind, *slot), credential{Project: proj, Environment: env}, 0); err != nil {
			return err
		}
		d.Version++
		out = d.Environment
		if err := w.put(envKey(proj, env), &d, ver); err != nil {
			return err
		}
		return s.recordEnv(w, proj, "reset a key of", &before, &out, changedActions(environmentFieldActions, &before, &out)...)
	})
	if err != nil {
		return Environment{}, err // a refused call shows nothing
	}
	return out, nil
}

// trimAttr drops a leading "." left by an empty attribute prefix.
func trimAttr(e *Error) *Error {
	for i := range e.Errors {
		if a := e.Errors[i].Attribute; len(a) > 0 && a[0] == '.' {
			e.Errors[i].Attribute = a[1:]
		}
	}
	return e
}

// recordEnv writes the audit entry of an environment change; before or
// after is nil for a create or a delete. Keys are masked in the snapshots.
func (s *Store) recordEnv(w *wtx, proj, verb string, before, after *Environment, actions ...string) error {
	var pr Project
	if _, err := getProject(&w.rtx, proj, &pr); err != nil {
		return err
	}
	target := before
	if after != nil {
		target = after
	}
	c := change{kind: "environment", verb: verb, name: target.Name, resource: envRes(proj, target.Key),
		parent: &AuditParent{Name: pr.Name, Resource: projRes(proj)}, accesses: accessesOf(envRes(proj, target.Key), actions...),
		self: &resource.Part{Type: resource.TypeEnvironment, Name: target.Key, Tags: target.Tags,
			Props: map[string]string{resource.PropCritical: strconv.FormatBool(target.Critical)}}}
	if before != nil {
		m := maskEnv(*before)
		c.before = &m
	}
	if after != nil {
		m := maskEnv(*after)
		c.after = &m
	}
	return s.record(w, c)
}

// maskEnv hides all but the last four characters of an environment's SDK
// and mobile keys, so the audit log, which more people may read than may
// view SDK keys, does not spread them.
func maskEnv(e Environment) Environment {
	e.APIKey, e.MobileKey = maskSecret(e.APIKey), maskSecret(e.MobileKey)
	e.Tags = slices.Clone(e.Tags)
	return e
}

func maskSecret(k string) string {
	if len(k) <= 8 {
		return strings.Repeat("*", len(k))
	}
	return k[:4] + strings.Repeat("*", len(k)-8) + k[len(k)-4:]
}
