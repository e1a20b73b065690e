"""Common given-name variants, so "Bill" and "William" compare as the same name.

Each line is one group; a name may sit in more than one group ("chris"). The list is
deliberately short and cross-lingual; the EM-trained weight of the "nickname" level
decides how much such an agreement is worth.
"""

from __future__ import annotations

_GROUPS = """
william bill billy will willy liam wilhelm willi guillaume guillermo
robert bob bobby rob robbie bert roberto
richard rick ricky dick rich richie
james jim jimmy jamie jaime
john jon johnny jack johann johannes hans jan juan jean giovanni
jonathan jon jonny nathan
joseph joe joey jose giuseppe josef sepp
michael mike mikey mick michel miguel michele michal
thomas tom tommy tomas thomas
charles charlie chuck carl karl carlos carlo
christopher chris kit topher christoph
christina chris tina kristina christine kristin
christian chris christiaan
daniel dan danny dani
david dave davy
edward ed eddie ted teddy eduard eduardo
elizabeth liz lizzie beth betty eliza elisabeth elsa lisa liesel isabel
margaret maggie meg peggy marge greta margarethe margarita
katherine kate katie kathy catherine cathy kat katharina katrin caterina
patricia pat patty trish
patrick pat paddy
alexander alex sasha sandro alejandro alessandro alexandre
alexandra alex sandra sasha alessandra
anthony tony antonio anton antoine
andrew andy drew andreas andre andrea andres
nicholas nick nicky nico nicolas niklas klaus
samuel sam sammy
samantha sam sammy
benjamin ben benny
matthew matt matthias mathieu mateo matteo
steven steve stephen stefan stephan esteban stefano
susan sue susie suzanne susanne
jennifer jen jenny
jessica jess jessie
rebecca becky becca
deborah debbie deb
barbara barb babs
victoria vicky tori
frederick fred freddie friedrich fritz federico
henry harry hank heinrich henri enrique enrico
lawrence larry laurence lorenzo
peter pete pedro pietro pierre piotr
timothy tim timmy
gregory greg
jeffrey jeff geoffrey
kenneth ken kenny
ronald ron ronnie
donald don donnie
douglas doug
gerald gerry jerry gerard
joshua josh
zachary zach zack
maximilian max maxim massimo
francis frank francesco franz francisco francois
francesca fran frankie francoise franziska
wolfgang wolf
mary maria marie mia molly polly
anne ann anna annie hanna hannah anja
helen helena ellen elena
josephine josie jo josefine
joanna jo joanne johanna
""".strip().splitlines()


def nickname_groups() -> dict[str, frozenset[int]]:
    groups: dict[str, set[int]] = {}
    for number, line in enumerate(_GROUPS):
        for name in line.split():
            groups.setdefault(name, set()).add(number)
    return {name: frozenset(ids) for name, ids in groups.items()}


NICKNAME_GROUPS = nickname_groups()


def nickname_key(name: str) -> int:
    """One representative group id for ``name`` (-1 if unknown); used for fast array comparison."""
    ids = NICKNAME_GROUPS.get(name)
    return min(ids) if ids else -1


def are_nicknames(a: str, b: str) -> bool:
    ids_a, ids_b = NICKNAME_GROUPS.get(a), NICKNAME_GROUPS.get(b)
    return bool(ids_a and ids_b and ids_a & ids_b)
