from flask_restful import Resource


class Note(Resource):
    def get(self, note_id=None, note_hex=None):
        return {"id": note_id}

    def put(self, note_id=None, note_hex=None):
        return {"id": note_id}


class Notes(Resource):
    def get(self):
        return []

    def post(self):
        return {}
