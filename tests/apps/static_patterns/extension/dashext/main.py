from flask import Flask

import dashext

app = Flask(__name__, static_folder=None)
dashext.config.init_from(file="demo.cfg")


@app.route("/demo")
def demo():
    return ""


if __name__ == "__main__":
    dashext.bind(app)
    app.run()
