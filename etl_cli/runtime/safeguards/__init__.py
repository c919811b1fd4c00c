"""What guards the stages: retries and breakers, contracts and checks, dead letters and replay."""
