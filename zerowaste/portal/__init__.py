"""Pages spanning apps: login, home, organization management, cockpit and public pages."""
