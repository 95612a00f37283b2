from tests.support import AppCaller, Server


async def test_client_writes_and_reads_its_session(
    server: Server, app: AppCaller
) -> None:
    room = await app.create_room()
    client = await app.join(room, "alice")

    written = await client.set("SESSION", {"poll": {"q": "Lunch?"}})
    found = await client.get("SESSION")

    assert written["revision"] == 1
    assert found["data"] == {"poll": {"q": "Lunch?"}}
    assert found["userRef"] == "alice"
