package flagstore

// Project is a container of environments and flags (LaunchDarkly's Project).
// Environments is filled only where LaunchDarkly includes it: on create, and
// when a read asks for it.
type Project struct {
	ID                            string                  `json:"_id"`
	Key                           string                  `json:"key"`
	Name                          string                  `json:"name"`
	Tags                          []string                `json:"tags"`
	IncludeInSnippetByDefault     bool                    `json:"includeInSnippetByDefault"`
	DefaultClientSideAvailability *ClientSideAvailability `json:"defaultClientSideAvailability,omitempty"`
	CreationDate                  int64                   `json:"creationDate"`
	Environments                  []Environment           `json:"environments,omitempty"`
}

// ProjectPost is the body that creates a project. Without Environments, the
// project gets LaunchDarkly's two defaults, "production" and "test".
type ProjectPost struct {
	Key                           string                  `json:"key"`
	Name                          string                  `json:"name"`
	Tags                          []string                `json:"tags,omitempty"`
	IncludeInSnippetByDefault     bool                    `json:"includeInSnippetByDefault,omitempty"`
	DefaultClientSideAvailability *ClientSideAvailability `json:"defaultClientSideAvailability,omitempty"`
	Environments                  []EnvironmentPost       `json:"environments,omitempty"`
}

// Environment is one deployment stage of a project (LaunchDarkly's
// Environment). ID doubles as the client-side ID; APIKey is the server-side
// SDK key and MobileKey the mobile key.
type Environment struct {
	ID                 string   `json:"_id"`
	Key                string   `json:"key"`
	Name               string   `json:"name"`
	APIKey             string   `json:"apiKey"`
	MobileKey          string   `json:"mobileKey"`
	Color              string   `json:"color"`
	DefaultTTL         int      `json:"defaultTtl"`
	SecureMode         bool     `json:"secureMode"`
	DefaultTrackEvents bool     `json:"defaultTrackEvents"`
	RequireComments    bool     `json:"requireComments"`
	ConfirmChanges     bool     `json:"confirmChanges"`
	Tags               []string `json:"tags"`
	Critical           bool     `json:"critical"`
	CreationDate       int64    `json:"creationDate"`
	// Version rises with every change to the environment's own settings.
	Version int `json:"version"`
}

// EnvironmentPost is the body that creates an environment.
type EnvironmentPost struct {
	Key                string   `json:"key"`
	Name               string   `json:"name"`
	Color              string   `json:"color"`
	DefaultTTL         int      `json:"defaultTtl,omitempty"`
	SecureMode         bool     `json:"secureMode,omitempty"`
	DefaultTrackEvents bool     `json:"defaultTrackEvents,omitempty"`
	ConfirmChanges     bool     `json:"confirmChanges,omitempty"`
	RequireComments    bool     `json:"requireComments,omitempty"`
	Tags               []string `json:"tags,omitempty"`
	Critical           bool     `json:"critical,omitempty"`
}
