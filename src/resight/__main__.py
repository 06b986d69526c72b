from resight.cli import app

app(prog_name="resight")
