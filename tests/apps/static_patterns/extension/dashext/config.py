import configparser


class Config:
    def __init__(self):
        self.link = "dash"
        self.title = "Dash"

    def init_from(self, file=None):
        parser = configparser.RawConfigParser()
        parser.read(file)
        self.link = parser.get("dashboard", "CUSTOM_LINK", fallback=self.link)
