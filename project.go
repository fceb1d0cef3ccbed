package flagstore

import (
	"context"
	"reflect"
	"slices"

	"github.com/flagstore/flagstore/internal/resource"
)

// projectIndex is the list index of all projects.
var projectIndex = index{coll: "p", scope: ""}

func projectEntry(p *Project) *entryOf {
	return &entryOf{key: p.Key, name: p.Name, created: p.CreationDate, tags: p.Tags}
}

// defaultEnvironments are the environments a project gets when its create
// body names none, as in LaunchDarkly.
var defaultEnvironments = []EnvironmentPost{
	{Key: "production", Name: "Production", Color: "417505"},
	{Key: "test", Name: "Test", Color: "F5A623"},
}

// CreateProject creates a project with the environments in p, or with
// "production" and "test" when p names none. The result includes the
// environments, with their SDK keys, mobile keys and client-side IDs.
func (s *Store) CreateProject(ctx context.Context, p ProjectPost) (Project, error) {
	if err := validKey("key", p.Key); err != nil {
		return Project{}, err
	}
	if err := validName("name", p.Name); err != nil {
		return Project{}, err
	}
	if err := validTags("tags", p.Tags); err != nil {
		return Project{}, err
	}
	envs := p.Environments
	if len(envs) == 0 {
		envs = defaultEnvironments
	}
	seen := map[string]bool{}
	for i := range envs {
		if err := validEnvironmentPost("environments", &envs[i]); err != nil {
			return Project{}, err
		}
		if seen[envs[i].Key] {
			return Project{}, invalidf("environments", "environment key %q is listed twice", envs[i].Key)
		}
		seen[envs[i].Key] = true
	}
	proj := Project{
		ID:                            s.newID(),
		Key:                           p.Key,
		Name:                          p.Name,
		Tags:                          nonNil(slices.Clone(p.Tags)),
		IncludeInSnippetByDefault:     p.IncludeInSnippetByDefault,
		DefaultClientSideAvailability: p.DefaultClientSideAvailability,
		CreationDate:                  s.nowMillis(),
	}
	if a := proj.DefaultClientSideAvailability; a != nil {
		c := *a // the result must not alias the caller's request
		proj.DefaultClientSideAvailability = &c
	} else {
		proj.DefaultClientSideAvailability = &ClientSideAvailability{UsingMobileKey: true, UsingEnvironmentID: p.IncludeInSnippetByDefault}
	}
	err := s.update(ctx, func(w *wtx) error {
		if ok, err := w.exists(projectKey(p.Key)); err != nil || ok {
			if ok {
				return existsf("A project with key %q already exists", p.Key)
			}
			return err
		}
		if err := w.put(projectKey(p.Key), &proj, 0); err != nil {
			return err
		}
		if err := projectIndex.reindex(w, nil, projectEntry(&proj)); err != nil {
			return err
		}
		for i := range envs {
			env, err := s.createEnvironmentIn(w, p.Key, envs[i])
			if err != nil {
				return err
			}
			proj.Environments = append(proj.Environments, env)
		}
		return s.record(w, change{kind: "project", verb: "created", name: proj.Name, resource: projRes(proj.Key),
			accesses: accessesOf(projRes(proj.Key), "createProject"), after: &proj})
	})
	if err != nil {
		return Project{}, err
	}
	return proj, nil
}

// GetProject returns the project with the given key, without environments.
func (s *Store) GetProject(ctx context.Context, key string) (Project, error) {
	var p Project
	err := s.view(ctx, func(r *rtx) error {
		if _, err := getProject(r, key, &p); err != nil {
			return err
		}
		return s.authorizeView(ctx, r, key)
	})
	if err != nil {
		return Project{}, err // a refused call shows nothing
	}
	return p, nil
}

func getProject(r *rtx, key string, p *Project) (uint64, error) {
	it, err := getCached(r, r.projects, cloneProject, projectKey(key), p)
	if err != nil {
		return 0, notFoundOr(err, "Unknown project %q", key)
	}
	return it.Version, nil
}

// ListProjects lists projects, by default oldest first.
func (s *Store) ListProjects(ctx context.Context, o ListOptions) (List[Project], error) {
	var out List[Project]
	err := s.view(ctx, func(r *rtx) error {
		keys, total, err := s.visibleProjects(ctx, r, o)
		if err != nil {
			return err
		}
		out = List[Project]{Items: make([]Project, 0, len(keys)), TotalCount: total}
		for _, k := range keys {
			var p Project
			if _, err := getProject(r, k, &p); err != nil {
				return err
			}
			out.Items = append(out.Items, p)
		}
		return nil
	})
	return out, err
}

// UpdateProject applies fn to a copy of the project and stores the result if
// it is valid. The key, ID and creation date cannot change.
func (s *Store) UpdateProject(ctx context.Context, key string, fn func(*Project) error) (Project, error) {
	var after Project
	err := s.update(ctx, func(w *wtx) error {
		var before Project
		ver, err := getProject(&w.rtx, key, &before)
		if err != nil {
			return err
		}
		if _, err := getProject(&w.rtx, key, &after); err != nil {
			return err
		}
		if err := fn(&after); err != nil {
			return err
		}
		switch {
		case after.Key != before.Key:
			return invalidf("key", "a project's key cannot change")
		case after.ID != before.ID:
			return invalidf("_id", "_id is read-only")
		case after.CreationDate != before.CreationDate:
			return invalidf("creationDate", "creationDate is read-only")
		case after.Environments != nil:
			return invalidf("environments", "environments are changed through their own calls")
		}
		if err := validName("name", after.Name); err != nil {
			return err
		}
		if err := validTags("tags", after.Tags); err != nil {
			return err
		}
		after.Tags = nonNil(after.Tags)
		if reflect.DeepEqual(before, after) {
			return s.authorizeView(w.ctx, &w.rtx, key) // the result is a read
		}
		if err := w.put(projectKey(key), &after, ver); err != nil {
			return err
		}
		if err := projectIndex.reindex(w, projectEntry(&before), projectEntry(&after)); err != nil {
			return err
		}
		return s.record(w, change{kind: "project", verb: "updated", name: after.Name, resource: projRes(key),
			accesses: accessesOf(projRes(key), changedActions(projectFieldActions, &before, &after)...), before: &before, after: &after})
	})
	if err != nil {
		return Project{}, err
	}
	return after, nil
}

// DeleteProject deletes a project with all its environments, flags and
// segments. LaunchDarkly refuses to delete an account's last project, and so
// does flagstore.
func (s *Store) DeleteProject(ctx context.Context, key string) error {
	return s.update(ctx, func(w *wtx) error {
		var p Project
		if _, err := getProject(&w.rtx, key, &p); err != nil {
			return err
		}
		n, err := w.count("n/p//l/all")
		if err != nil {
			return err
		}
		if n <= 1 {
			return invalidf("projectKey", "the last project of an account cannot be deleted")
		}
		var envs []envDoc
		if err := each(&w.rtx, envPrefix(key), func(_ string, e *envDoc) error {
			envs = append(envs, *e)
			return nil
		}); err != nil {
			return err
		}
		for i := range envs {
			if err := deleteCredentials(w, key, &envs[i]); err != nil {
				return err
			}
		}
		for _, prefix := range []string{
			flagPrefix(key), envPrefix(key), "s/" + key + sep,
			"x/f/" + key + sep, "x/e/" + key + sep, "x/s/" + key + sep,
			"n/f/" + key + sep, "n/e/" + key + sep, "n/s/" + key + sep,
			"r/f/" + key + sep, "r/s/" + key + sep,
			metricPrefix(key), "x/mt/" + key + sep, "n/mt/" + key + sep,
			projectTombPrefixes(key)[0], projectTombPrefixes(key)[1],
		} {
			if err := w.delUnder(prefix); err != nil {
				return err
			}
		}
		if err := w.del(flagDefaultsKey(key)); err != nil {
			return err
		}
		if err := w.del(projectKey(key)); err != nil {
			return err
		}
		if err := projectIndex.reindex(w, projectEntry(&p), nil); err != nil {
			return err
		}
		return s.record(w, change{kind: "project", verb: "deleted", name: p.Name, resource: projRes(key),
			accesses: accessesOf(projRes(key), "deleteProject"), before: &p,
			self: &resource.Part{Type: resource.TypeProject, Name: key, Tags: p.Tags}})
	})
}

// nonNil returns s, or an empty slice for nil, so JSON shows [] not null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// visibleProjects pages through the projects the context's principal may
// view. Without a principal every project is visible and the index pages
// directly; with one, the ordered index is filtered, then paged.
func (s *Store) visibleProjects(ctx context.Context, r *rtx, o ListOptions) ([]string, int, error) {
	if _, ok := PrincipalFrom(ctx); !ok {
		return projectIndex.page(r, o, "creationDate")
	}
	all := o
	all.Offset, all.Limit = 0, maxInt
	keys, _, err := projectIndex.page(r, all, "creationDate")
	if err != nil {
		return nil, 0, err
	}
	visible := keys[:0]
	for _, k := range keys {
		if s.authorizeView(ctx, r, k) == nil {
			visible = append(visible, k)
		}
	}
	limit := o.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	from := min(o.Offset, len(visible))
	to := min(from+limit, len(visible))
	return visible[from:to], len(visible), nil
}
