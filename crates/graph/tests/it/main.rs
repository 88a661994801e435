//! Integration tests of the Graph API client against the simulator over real HTTP.
