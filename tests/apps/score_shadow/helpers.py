def check(item_id):
    return item_id > 0
